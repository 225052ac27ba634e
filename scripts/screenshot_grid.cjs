// Screenshots of the Airflow UI for the README (not part of CI): the Grid view of a sync run with its task
// groups expanded, the run's note (the run report) opened, and the "Amazon orders" page (plugins/amazon_orders.py)
// before and after "Retry now" on the first kept-out order. Run through scripts/screenshot-grid, which
// installs playwright-core and finds the UI, the login and the run.
//
//   node scripts/screenshot_grid.cjs <ui-url> <user> <password> <dag-id> <run-id> <out-dir>
const { chromium } = require("playwright-core");

async function main() {
  const [ui, user, password, dagId, runId, outDir] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1360, height: 860 } });
    await page.goto(`${ui}/`);
    await page.fill("input[name=username]", user);
    await page.fill("input[name=password]", password);
    await page.click("button[type=submit]");
    await page.waitForURL((url) => !url.pathname.startsWith("/auth"), { timeout: 30000 });

    await page.goto(`${ui}/dags/${dagId}/runs/${encodeURIComponent(runId)}`);
    await page.waitForLoadState("networkidle");
    await page.click('button[aria-label="Expand all task groups"]');
    await page.waitForTimeout(1000);
    await page.screenshot({ path: `${outDir}/grid-view.png` });

    await page.getByRole("button", { name: "Edit note" }).click();
    await page.getByText("Dag Run Note").waitFor();
    await page.waitForTimeout(500);
    await page.screenshot({ path: `${outDir}/run-report.png` });
    console.log(`screenshot-grid: wrote ${outDir}/grid-view.png and ${outDir}/run-report.png`);

    await page.keyboard.press("Escape");
    await page.setViewportSize({ width: 1360, height: 1400 });
    await page.goto(`${ui}/plugin/amazon-orders`);
    const frame = page.frameLocator("iframe").first();
    const first = frame.locator("#orders tbody tr[data-order]").first();
    await first.waitFor();
    await page.waitForTimeout(500);
    await page.screenshot({ path: `${outDir}/amazon-orders.png` });
    const orderId = await first.getAttribute("data-order");
    await frame.getByRole("searchbox", { name: "Search kept-out orders" }).fill(orderId);
    await frame.locator("#orders tbody tr[data-order]").nth(1).waitFor({ state: "detached" });
    await first.getByRole("checkbox").check();
    await frame.getByRole("button", { name: "Retry now" }).click();
    await frame.locator("#message.ok").waitFor();
    await page.waitForTimeout(500);
    await page.setViewportSize({ width: 1360, height: 860 });
    await page.screenshot({ path: `${outDir}/amazon-orders-retry.png` });
    console.log(`screenshot-grid: wrote ${outDir}/amazon-orders.png and ${outDir}/amazon-orders-retry.png (retried ${orderId})`);
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
