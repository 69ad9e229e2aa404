// The password-reset page in Debian's Chromium with JavaScript off, driven by playwright-core:
// the link from the reset mail opens a 200 page with no <script>, the field labelled "New
// password" takes the new password, the button posts the form, and the answer must be 200 and
// say that the password was changed. Exits non-zero otherwise; never prints the link, its token
// or the password. tests/outside/mail.py runs it, then signs in with the new password.
//
// Usage: node reset_page.mjs LINK NEW_PASSWORD   (CHROMIUM overrides /usr/bin/chromium)

import { chromium } from "playwright-core";

if (process.argv.length !== 4) {
  console.error("usage: node reset_page.mjs LINK NEW_PASSWORD");
  process.exit(2);
}
const [link, newPassword] = process.argv.slice(2);

class Failure extends Error {}

function fail(what) {
  throw new Failure(what);
}

/** The text with the link, its token and the password taken out. */
function redact(text) {
  let token = null;
  try {
    token = new URL(link).searchParams.get("token");
  } catch {
    // Not a URL: the link itself is still taken out.
  }
  let out = String(text);
  for (const [secret, name] of [
    [link, "LINK"],
    [token, "TOKEN"],
    [newPassword, "PASSWORD"],
  ]) {
    if (secret) out = out.split(secret).join(`[${name}]`);
  }
  return out;
}

let browser = null;
let failure = null;
const blocked = [];
try {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  const context = await browser.newContext({ javaScriptEnabled: false });
  context.setDefaultTimeout(15000);
  const page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy/i.test(message.text())) {
      blocked.push(message.text());
    }
  });

  const opened = await page.goto(link);
  const status = opened ? opened.status() : null;
  if (status !== 200) fail(`the reset link answered ${status}`);
  console.log("ok: the reset link answers 200");
  const scripts = await page.locator("script").count();
  if (scripts !== 0) fail(`the reset page holds ${scripts} <script> element(s)`);
  console.log("ok: the reset page holds no <script>");

  await page.getByLabel(/new password/i).fill(newPassword);
  console.log("ok: the password field is found by its label and filled");
  // The form's POST is the page's next navigation; its response is the answer to check.
  const [answered] = await Promise.all([
    page.waitForResponse(
      (response) =>
        response.request().isNavigationRequest() && response.request().method() === "POST",
    ),
    page.getByRole("button").click(),
  ]);
  await page.waitForLoadState("load");
  const text = await page.locator("body").innerText();
  if (answered.status() !== 200) {
    fail(`the form's POST answered ${answered.status()}: ${text.slice(0, 200)}`);
  }
  console.log("ok: the form's POST answers 200");
  if (!/changed/i.test(text)) fail("the page after the POST does not say the password changed");
  console.log("ok: the page says the password was changed");
  if (blocked.length > 0) fail(`the page's CSP blocked something: ${blocked.join("; ")}`);
  console.log("ok: nothing was blocked by the pages' CSP");
} catch (error) {
  failure = error instanceof Failure ? error.message : `${error.name}: ${error.message}`;
  if (!(error instanceof Failure) && blocked.length > 0) {
    failure += ` (CSP blocked: ${blocked.join("; ")})`;
  }
} finally {
  if (browser) await browser.close();
}
if (failure !== null) {
  console.error(`FAIL: ${redact(failure)}`);
  process.exit(1);
}
console.log("reset page: ok");
