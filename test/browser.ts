// Headless Chromium for the tests (the system's browser, Debian's `chromium`, driven by puppeteer-core: nothing downloaded): pages opened with every console error, page error, dialog and network request recorded.
import { existsSync } from "node:fs";
import puppeteer, { type Browser, type Page } from "puppeteer-core";

/** The system browser: $RNNC_CHROMIUM, else Debian's chromium. */
export function chromiumPath(): string {
  const path = process.env["RNNC_CHROMIUM"] ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find(existsSync);
  if (!path || !existsSync(path)) throw new Error("no Chromium: install Debian's `chromium` package (.ci/run does), or set RNNC_CHROMIUM to a Chromium binary");
  return path;
}

export async function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({ executablePath: chromiumPath(), headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--allow-file-access-from-files"] });
}

/** What a page did that a test looks at: console errors, uncaught errors, dialogs (alert, confirm) and requests to anywhere but the page's own origin. */
export interface Watched { readonly page: Page; readonly errors: string[]; readonly dialogs: string[]; readonly remote: string[] }

/** Opens `url` in a new page, recording what `Watched` lists; requests off the machine are refused (and recorded). */
export async function openPage(browser: Browser, url: string, allowed: (u: string) => boolean = (u) => u.startsWith("file:") || u.startsWith("data:")): Promise<Watched> {
  const page = await browser.newPage();
  const w: Watched = { page, errors: [], dialogs: [], remote: [] };
  page.on("console", (m) => { if (m.type() === "error") w.errors.push(m.text()); });
  page.on("pageerror", (e) => w.errors.push(String(e)));
  page.on("dialog", (d) => { w.dialogs.push(d.message()); void d.dismiss(); });
  await page.setRequestInterception(true);
  page.on("request", (r) => {
    if (allowed(r.url())) void r.continue();
    else { w.remote.push(r.url()); void r.abort(); }
  });
  await page.goto(url, { waitUntil: "load", timeout: 120_000 });
  return w;
}
