// The browser side of tests/test_ui.py: drives the Airflow UI in headless Debian Chromium with playwright-core
// and prints what an operator sees as one JSON object; the Python test makes the assertions.
//
//   node tests/ui_browser.cjs forms '<json>'   login; both trigger forms (Single Run and Backfill): each param's
//                                               label, required marker and help text; a malformed order id
//                                               submitted (the refusal shown); then the empty sync form
//                                               submitted (the run it created)
//   node tests/ui_browser.cjs pages '<json>'   the DAG list's tooltip, the deadline popover, a run's note and the
//                                               page its link opens
//   node tests/ui_browser.cjs amazon '<json>'  "Amazon orders" from the navigation: search a kept-out order by id
//                                               ({order_id}), press "Retry now", read the run shown; screenshots
//                                               into {screenshots} (a folder) when given
//   node tests/ui_browser.cjs amazon_readonly '<json>'   the same page for a user who may not trigger: its
//                                               read-only notice, whether any action is possible, the account selector's options
//
// <json>: {"ui", "user", "password", ...}; see each command. Chromium: $CHROMIUM or /usr/bin/chromium.
const { chromium } = require("playwright-core");

const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run"];

async function login(browser, { ui, user, password }) {
  const page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
  page.setDefaultTimeout(30000);
  await page.goto(`${ui}/`);
  await page.fill("input[name=username]", user);
  await page.fill("input[name=password]", password);
  await page.click("button[type=submit]");
  await page.waitForURL((url) => !url.pathname.startsWith("/auth"));
  return page;
}

async function openTriggerDialog(page, ui, dagId) {
  await page.goto(`${ui}/dags/${dagId}`);
  await page.getByRole("button", { name: "Trigger" }).first().click();
  const dialog = page.locator("[role=dialog][data-state=open]");
  await dialog.getByText("Run Parameters").waitFor();
  return dialog;
}

// Every field of the dialog's form: its label, whether Airflow marks it required, its help text.
async function fields(dialog) {
  return dialog.locator("[data-scope=field][data-part=root]").evaluateAll((roots) =>
    roots.map((root) => {
      const label = root.querySelector("[data-part=label]");
      const text = (label ? label.innerText : "").replace(/\s+/g, " ").trim();
      return {
        label: text.replace(/\s*\*$/, ""),
        required: text.endsWith("*") || root.hasAttribute("data-required") ||
          !!root.querySelector("[data-part=required-indicator]"),
        help: (root.querySelector("[data-part=helper-text]")?.innerText || "").trim(),
      };
    }));
}

async function forms(page, args) {
  const out = { forms: {} };
  for (const dagId of args.dags) {
    let dialog = await openTriggerDialog(page, args.ui, dagId);
    const single = await fields(dialog);
    await dialog.getByText("Backfill", { exact: true }).click();
    await dialog.getByText("Date Range").waitFor();
    const backfill = await fields(dialog);
    out.forms[dagId] = { single, backfill };
  }
  // A malformed order id, submitted as an operator would: the dialog stays open with Airflow's refusal on top.
  let dialog = await openTriggerDialog(page, args.ui, args.sync);
  await dialog.locator("#element_amazon_order_ids").fill(args.malformed.join("\n"));
  await dialog.getByRole("button", { name: "Trigger" }).click();
  const alert = dialog.getByTestId("error-alert");
  await alert.waitFor();
  out.refusal = (await alert.innerText()).trim();
  // The same form left empty: a run over the schedule's window, and the UI goes to it.
  dialog = await openTriggerDialog(page, args.ui, args.sync);
  await dialog.getByRole("button", { name: "Trigger" }).click();
  await page.waitForURL((url) => /\/runs\/[^/]+$/.test(url.pathname));
  out.triggered_run_id = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
  return out;
}

async function pages(page, args) {
  const out = {};
  await page.goto(`${args.ui}/dags`);
  await page.getByText(args.push, { exact: true }).hover();
  out.push_tooltip = (await page.getByRole("tooltip").first().innerText()).trim();

  await page.goto(`${args.ui}/dags/${args.sync}`);
  await page.getByRole("button", { name: /deadline/ }).click();
  out.deadline = (await page.getByText("Must complete within").first().locator("..").innerText()).trim();

  await page.goto(`${args.ui}/dags/${args.sync}/runs/${encodeURIComponent(args.run_id)}`);
  await page.getByRole("button", { name: "Edit note" }).click();
  const note = page.locator("[role=dialog][data-state=open]");
  const link = note.getByRole("link", { name: "summarize → XCom" });
  await link.waitFor();
  out.note_link = await link.getAttribute("href");
  await page.goto(out.note_link);
  await page.getByText("kept_out_earlier", { exact: true }).waitFor();
  out.xcom_keys = await page.locator("table tbody tr td:first-child").allInnerTexts();
  return out;
}

async function amazon(page, args) {
  const out = {};
  await page.goto(`${args.ui}/`);
  const entry = page.getByRole("link", { name: "Amazon orders" }).or(page.getByRole("button", { name: "Amazon orders" }));
  await entry.first().click();
  await page.waitForURL((url) => url.pathname.endsWith("/plugin/amazon-orders"));
  out.path = new URL(page.url()).pathname;
  const frame = page.frameLocator("iframe").first();
  await frame.getByRole("heading", { name: "Amazon orders", exact: true }).waitFor();
  await frame.locator("#orders tbody tr[data-order]").first().waitFor();
  out.health = (await frame.locator("#cards").innerText()).replace(/\s+/g, " ").trim();
  if (args.screenshots) await page.screenshot({ path: `${args.screenshots}/amazon-orders.png` });
  await frame.getByRole("searchbox", { name: "Search kept-out orders" }).fill(args.order_id);
  const row = frame.locator(`#orders tbody tr[data-order="${args.order_id}"]`);
  await frame.locator("#orders tbody tr[data-order]").nth(1).waitFor({ state: "detached" });
  out.rows = await frame.locator("#orders tbody tr[data-order]").count();
  out.row = (await row.innerText()).replace(/\s+/g, " ").trim();
  await row.getByRole("checkbox").check();
  await frame.getByRole("button", { name: "Retry now" }).click();
  const message = frame.locator("#message.ok");
  await message.waitFor();
  out.message = (await message.innerText()).trim();
  out.run_id = await message.getAttribute("data-run-id");
  out.run_link = await message.getByRole("link").getAttribute("href");
  if (args.screenshots) await page.screenshot({ path: `${args.screenshots}/amazon-orders-retry.png` });
  // The link opens the run in the Grid view, in the whole window.
  await message.getByRole("link").click();
  await page.waitForURL((url) => url.pathname.includes(`/runs/`));
  out.opened = decodeURIComponent(new URL(page.url()).pathname);
  await page.getByText(out.run_id).first().waitFor();  // the UI's router rendered the run
  return out;
}

async function amazon_readonly(page, args) {
  await page.goto(`${args.ui}/plugin/amazon-orders`);
  const frame = page.frameLocator("iframe").first();
  await frame.locator("#orders tbody tr[data-order]").first().waitFor();
  await frame.locator("#packages tbody tr").first().waitFor();
  const notice = frame.locator("#readonly");
  return {
    notice: (await notice.isVisible()) ? (await notice.innerText()).trim() : null,
    retry_enabled: await frame.getByRole("button", { name: "Retry now" }).isEnabled(),
    repush_enabled: await frame.getByRole("button", { name: "Re-push" }).isEnabled(),
    checkable: await frame.locator("input[type=checkbox]:not([disabled])").count(),
    rows: await frame.locator("#orders tbody tr[data-order]").count(),
    accounts: (await frame.getByRole("combobox", { name: "Seller account" }).isVisible())
      ? await frame.locator("#account option").allInnerTexts() : null,
  };
}

async function main() {
  const [command, json] = process.argv.slice(2);
  const args = JSON.parse(json);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: CHROMIUM_FLAGS });
  try {
    const page = await login(browser, args);
    const result = await { forms, pages, amazon, amazon_readonly }[command](page, args);
    process.stdout.write(JSON.stringify(result) + "\n");
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
