// Headless Chromium (Debian's package) for the browser tests, driven by playwright-core.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const CANDIDATES = [process.env.CHROMIUM_BIN, "/usr/bin/chromium", "/usr/bin/chromium-browser"];

/** The Chromium binary, or undefined when none is installed. */
export function chromiumPath() {
  return CANDIDATES.find((p) => p && existsSync(p));
}

/**
 * Launches headless Chromium. Without a binary the test fails under CI=true and is skipped
 * (by name, through `t.skip`) elsewhere: pass the test context as `t`.
 */
export async function launchChromium(t) {
  const executablePath = chromiumPath();
  if (!executablePath) {
    if (process.env.CI === "true") throw new Error("Chromium is not installed (apt-get install chromium)");
    t.skip("Chromium is not installed");
    return undefined;
  }
  const args = ["--no-first-run", "--disable-dev-shm-usage"];
  if (process.getuid?.() === 0) args.push("--no-sandbox");
  return chromium.launch({ executablePath, headless: true, args });
}

/** Saves a screenshot of the page under target/test-artifacts when a browser test fails. */
export async function screenshotOnFailure(page, name) {
  const dir = join(import.meta.dirname, "..", "..", "target", "test-artifacts");
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true }).catch(() => {});
}
