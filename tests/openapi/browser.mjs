// Opens a docs page in headless Chromium (Debian's) and waits for a text
// to be rendered; writes a screenshot. Every request the page makes is
// recorded: one to anything but the server under test fails the check,
// and is refused (the test also runs with no network at all).
//
//   SOOM_NPM_TOOLS=<folder> node browser.mjs URL TEXT SCREENSHOT.png
//
// Prints one JSON line: { ok, found, outside, errors, requests }.
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// playwright-core lives in the npm tools' folder of the build tree
const { chromium } = createRequire(join(process.env.SOOM_NPM_TOOLS || process.cwd(), "x.js"))(
  "playwright-core");

const [url, text, shot] = process.argv.slice(2);
const origin = new URL(url).origin;
const profile = mkdtempSync(join(tmpdir(), "soom-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = { ok: false, found: false, outside: [], errors: [], requests: [] };
try {
  const page = context.pages()[0] || await context.newPage();
  await page.route("**/*", (route) => {
    const u = route.request().url();
    if (u.startsWith(origin + "/") || u.startsWith("data:") || u.startsWith("blob:")) {
      result.requests.push(u.slice(origin.length));
      return route.continue();
    }
    result.outside.push(u);
    return route.abort();
  });
  page.on("pageerror", (e) => result.errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") result.errors.push(m.text()); });
  try {
    await page.goto(url, { waitUntil: "load", timeout: 30000 });
    const wait = Number(process.env.SOOM_BROWSER_WAIT || 30000);
    await page.getByText(text, { exact: false }).first().waitFor({ state: "attached", timeout: wait });
    result.found = (await page.content()).includes(text);
    await page.waitForTimeout(500);
  } finally {
    await page.screenshot({ path: shot }); // also when it failed: the picture says why
  }
  result.ok = result.found && result.outside.length === 0;
} catch (e) {
  result.errors.push(String(e));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
