"""Leases on channel orders and packages (include/channel_db/leases.py) on SQLite, MariaDB and PostgreSQL:
one owner at a time, expiry, renewal, release, and racing claimers from many threads."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from include import channel_db as db
from include.domain.import_rules import IMPORTABLE_STATUSES
from include.domain.settings import SettingsError, parse_settings
from include.domain.staging import flatten
from include.domain.tracking import Package
from tests.amazon_orders import line, order
from tests.conftest import CIPHER

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
IDS = [f"111-0000000-00000{n:02d}" for n in range(12)]


@pytest.fixture
def engine(channel_engine):
    """A fresh channel database on each dialect with twelve staged orders, two packages on the first two."""
    orders_df, items_df = flatten([order(line(), order_id=oid, created=T0) for oid in IDS])
    db.upsert_staged(channel_engine, orders_df, items_df, importable=IMPORTABLE_STATUSES, cipher=CIPHER, now=T0)
    packages = [
        Package(oid, "ATVPDKIKX0DER", str(10**10 * shipment + 1), None, shipment, 1, "UPS", None, None, "1Z", None,
                (("item", 1),))
        for oid in IDS[:2] for shipment in (1, 2)
    ]  # fmt: skip
    db.save_shipment_pushes(channel_engine, packages, [], now=T0)
    return channel_engine


def leases(engine, table="channel_order") -> dict[str, str | None]:
    with engine.connect() as conn:
        return dict(conn.execute(text(f"SELECT amazon_order_id, lease_owner FROM {table} ORDER BY 1")).all())


def test_one_owner_at_a_time_until_the_lease_expires(engine):
    a, b = db.Lease("worker-a:1:aa", 60), db.Lease("worker-b:2:bb", 60)
    assert db.claim_orders(engine, IDS[:6], a, now=T0) == IDS[:6]
    # b asks for an overlapping set: it gets only the free ones, in the order asked
    assert db.claim_orders(engine, list(reversed(IDS[3:9])), b, now=T0 + timedelta(seconds=30)) == [
        IDS[8], IDS[7], IDS[6]
    ]  # fmt: skip
    assert (
        db.claim_orders(engine, IDS[:2], a, now=T0 + timedelta(seconds=30)) == IDS[:2]
    )  # its own: kept (and extended)
    # a's lease on IDS[2:6] ran out at T0 + 60 s (IDS[:2] were extended to T0 + 90 s): b takes those
    assert db.claim_orders(engine, IDS[:6], b, now=T0 + timedelta(seconds=61)) == IDS[2:6]
    owners = leases(engine)
    assert [owners[i] for i in IDS[:9]] == [a.owner] * 2 + [b.owner] * 7
    assert owners[IDS[9]] is None


def test_renewal_keeps_and_release_frees(engine):
    a, b = db.Lease("a", 60), db.Lease("b", 60)
    db.claim_orders(engine, IDS[:3], a, now=T0)
    db.renew_leases(engine, a, now=T0 + timedelta(seconds=50))  # now held until T0 + 110 s
    assert db.claim_orders(engine, IDS[:3], b, now=T0 + timedelta(seconds=100)) == []
    db.release_leases(engine, a)
    assert set(leases(engine).values()) == {None}
    assert db.claim_orders(engine, IDS[:3], b, now=T0 + timedelta(seconds=100)) == IDS[:3]


def test_packages_are_claimed_per_package_and_released(engine):
    a, b = db.Lease("a", 60), db.Lease("b", 60)
    held = db.claim_pushes(engine, [IDS[0]], a, now=T0)
    assert held == {(IDS[0], str(10**10 + 1)), (IDS[0], str(2 * 10**10 + 1))}
    assert db.claim_pushes(engine, IDS[:2], b, now=T0) == {(IDS[1], str(10**10 + 1)), (IDS[1], str(2 * 10**10 + 1))}
    db.release_leases(engine, a)
    assert leases(engine, "channel_shipment_push") == {IDS[0]: None, IDS[1]: "b"}


def test_holding_renews_while_the_block_runs_and_releases_after(engine):
    lease = db.Lease("slow-task", 1)
    with db.holding_leases(engine, lease):
        db.claim_orders(engine, IDS[:2], lease)
        time.sleep(1.6)  # past the first expiry: the renewals (every third of a second) kept it
        assert db.claim_orders(engine, IDS[:2], db.Lease("other", 1)) == []
    assert db.claim_orders(engine, IDS[:2], db.Lease("other", 1)) == IDS[:2]


def test_racing_claimers_each_order_goes_to_exactly_one(engine):
    """Eight threads, each on its own connection, claim overlapping sets at the same instant."""
    owners = [db.Lease(f"t{n}", 60) for n in range(8)]
    got: dict[str, list[str]] = {}
    start = threading.Barrier(len(owners))

    def claim(lease: db.Lease) -> None:
        wanted = IDS[len(lease.owner) % 3 :] if int(lease.owner[1:]) % 2 else list(reversed(IDS))
        start.wait()
        got[lease.owner] = db.claim_orders(engine, wanted, lease)

    threads = [threading.Thread(target=claim, args=(lease,)) for lease in owners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [oid for ids in got.values() for oid in ids]
    assert sorted(claimed) == sorted(IDS)  # every order claimed, none twice
    owners_now = leases(engine)
    for owner, ids in got.items():
        assert all(owners_now[oid] == owner for oid in ids)


def test_lease_seconds_setting_is_validated():
    assert parse_settings({"lease_seconds": 30}).lease_seconds == 30
    assert parse_settings({}).lease_seconds == 600
    for bad in (0, 4, "60", 10**6):
        with pytest.raises(SettingsError, match="lease_seconds"):
            parse_settings({"lease_seconds": bad})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["claim", "release"]),
            st.integers(0, 2),  # owner
            st.sets(st.integers(0, 5), max_size=6),  # orders
            st.integers(0, 40),  # seconds since the previous step
        ),
        max_size=12,
    )
)
def test_claims_follow_the_lease_rules(sqlite_engine, steps):
    """Any sequence of claims and releases by three owners matches the rules: an order is taken when free,
    expired or already the claimer's; a release frees only the releaser's orders."""
    engine = sqlite_engine
    with engine.begin() as conn:
        conn.execute(text("UPDATE channel_order SET lease_owner = NULL, lease_expires_at = NULL"))
    model: dict[str, tuple[str, datetime]] = {}
    now = T0
    for action, who, which, wait in steps:
        now += timedelta(seconds=wait)
        lease = db.Lease(f"owner{who}", 30)
        ids = [IDS[i] for i in sorted(which)]
        if action == "release":
            db.release_leases(engine, lease)
            model = {oid: held for oid, held in model.items() if held[0] != lease.owner}
            continue
        expected = [oid for oid in ids if oid not in model or model[oid][0] == lease.owner or model[oid][1] <= now]
        assert db.claim_orders(engine, ids, lease, now=now) == expected
        model.update({oid: (lease.owner, now + timedelta(seconds=30)) for oid in expected})
    assert {k: v for k, v in leases(engine).items() if v} == {oid: held[0] for oid, held in model.items()}


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory):
    from tests.conftest import fresh_channel_engine

    engine = fresh_channel_engine(f"sqlite:///{tmp_path_factory.mktemp('leases') / 'channel.db'}")
    orders_df, items_df = flatten([order(line(), order_id=oid, created=T0) for oid in IDS])
    db.upsert_staged(engine, orders_df, items_df, importable=IMPORTABLE_STATUSES, cipher=CIPHER, now=T0)
    yield engine
    engine.dispose()
