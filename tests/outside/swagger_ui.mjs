// Swagger UI in Debian's Chromium, driven by playwright-core: Authorize with a username and a
// password (the OAuth 2.0 password flow the document declares), call GET /users/me with
// "Try it out", and the page must show 200 and the user's email. Exits non-zero otherwise.
//
// Usage: node swagger_ui.mjs BASE_URL   (CHROMIUM overrides /usr/bin/chromium)

import { chromium } from "playwright-core";

const base = process.argv[2].replace(/\/$/, "");
const email = `swagger-${Date.now()}@example.com`;
const password = "violet tractor hums 42 quiet lanterns";

function fail(what) {
  console.error(`FAIL: ${what}`);
  process.exit(1);
}

const registered = await fetch(`${base}/auth/register`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ email, password }),
});
if (registered.status !== 201) fail(`register answered ${registered.status}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
try {
  const page = await browser.newPage();
  const blocked = [];
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy/i.test(message.text())) {
      blocked.push(message.text());
    }
  });
  await page.goto(`${base}/docs`);

  // Authorize: the password flow's form in the modal.
  await page.locator("button.authorize").first().click();
  const modal = page.locator(".modal-ux");
  const oauth = modal.locator(".auth-container", { has: page.locator("#oauth_username") });
  await oauth.locator("#oauth_username").fill(email);
  await oauth.locator("#oauth_password").fill(password);
  await oauth.locator("button.authorize").click();
  // Signed in, the form gives way to "Authorized" and the user's name.
  await modal.getByText("Authorized", { exact: true }).waitFor({ timeout: 10000 });
  console.log("ok: Swagger UI signed in through POST /auth/token");
  await modal.locator("button.close-modal").click();

  // GET /users/me with the token Swagger UI now holds.
  const operation = page.locator("#operations-Users-get_users_me");
  await operation.locator(".opblock-summary").click();
  await operation.locator("button.try-out__btn").click();
  await operation.locator("button.execute").click();
  const status = operation.locator(".live-responses-table .response .response-col_status");
  await status.first().waitFor({ timeout: 10000 });
  const shown = (await status.first().innerText()).trim();
  if (!shown.startsWith("200")) fail(`the page shows ${shown} for GET /users/me`);
  const body = await operation.locator(".live-responses-table").innerText();
  if (!body.includes(email)) fail("the response on the page is not the signed-in user");
  console.log("ok: GET /users/me shows 200 and the user on the page");
  if (blocked.length > 0) fail(`the page's CSP blocked something: ${blocked.join("; ")}`);
  console.log("ok: nothing was blocked by the docs page's CSP");
} finally {
  await browser.close();
}
console.log("all browser checks passed");
