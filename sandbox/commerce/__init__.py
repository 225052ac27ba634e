"""A local Adobe Commerce (Magento 2.4) admin REST API on a real SQL database.

``sandbox.commerce.app.create_app(db_url)`` builds the ASGI app that
``python -m sandbox serve`` runs on ``--commerce-port``. Tables use Magento's
names (``sales_order``, ``customer_entity``...), rules follow Magento's
repositories and order state machine; see docs/sandboxes.md, "Commerce sandbox".
"""
