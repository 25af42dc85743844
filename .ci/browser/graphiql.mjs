// .ci/browser/graphiql.mjs: GraphiQL at /graphql works in a real browser.
//
//   cd .ci/browser && npm ci && KOMPETANSE_URL=http://127.0.0.1:PORT node graphiql.mjs
//
// KOMPETANSE_URL is the server's origin or its /graphql (as .ci/with-server
// sets it); both work. CHROMIUM overrides the browser (default Debian's
// /usr/bin/chromium: apt-get install -y chromium); SCREENSHOT=FILE.png
// saves the page after the query ran. On a failure a screenshot is saved
// in the temporary folder and its path printed.
//
// Opens the page as a browser navigation does (Accept: text/html) and checks:
//   1. it is served with a strict Content-Security-Policy header;
//   2. every request the page makes goes to the page's own origin;
//   3. no console error, page error, failed request or CSP violation;
//   4. the GraphiQL editor appears;
//   5. the docs explorer opens on the root type Query, whose fields
//      (e.g. counties) come from introspection;
//   6. running the default query shows its data in the result pane;
//   7. the settings dialog opens (it needs style-src 'unsafe-inline').
// Exits 1 with a message naming the failed check; prints a summary if all pass.
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const base = process.env.KOMPETANSE_URL;
if (!base) {
  console.error('graphiql: set KOMPETANSE_URL, e.g. KOMPETANSE_URL=http://127.0.0.1:8080');
  process.exit(2);
}
const pageUrl = new URL(base.replace(/\/+$/, '').replace(/\/graphql$/, '') + '/graphql');
const origin = pageUrl.origin;
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TIMEOUT = Number(process.env.TIMEOUT_MS ?? 30_000);

const passed = [];
const requests = [];
const offOrigin = [];
const problems = []; // console errors, page errors, failed requests, bad statuses
let page;

class CheckFailed extends Error {}
function check(ok, message) {
  if (!ok) throw new CheckFailed(message);
}
async function step(name, fn) {
  try {
    const detail = await fn();
    passed.push(name);
    console.log(`ok ${passed.length} - ${name}${detail ? `: ${detail}` : ''}`);
  } catch (e) {
    e.step = name;
    throw e;
  }
}

// The directives of a CSP header, as a map from name to its sources.
function directives(csp) {
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...sources]) => [name.toLowerCase(), sources]),
  );
}

let browser;
let status = 0;
try {
  browser = await chromium.launch({ executablePath, headless: true }).catch((e) => {
    throw new CheckFailed(`cannot launch ${executablePath} (apt-get install -y chromium?): ${e.message.split('\n')[0]}`);
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  // Runs before the page's own scripts and outside its CSP (Playwright
  // injects it through the DevTools protocol): records CSP violations.
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(
        `${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile || '?'}:${e.lineNumber}`,
      );
    });
  });
  // Context-wide, so that workers and popups are seen as well.
  context.on('request', (r) => {
    const u = new URL(r.url());
    requests.push(`${r.method()} ${u.protocol === 'data:' ? 'data:…' : u.href}`);
    // data: and blob: URLs come from the page itself (e.g. fonts inlined in
    // the CSS); anything else must be this origin.
    if (u.protocol !== 'data:' && u.protocol !== 'blob:' && u.origin !== origin) offOrigin.push(r.url());
  });
  context.on('requestfailed', (r) => problems.push(`request failed: ${r.method()} ${r.url()} (${r.failure()?.errorText})`));
  context.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
  });
  page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('websocket', (ws) => {
    if (new URL(ws.url()).host !== pageUrl.host) offOrigin.push(ws.url());
  });

  let response;
  await step('the page is served with a strict Content-Security-Policy', async () => {
    response = await page.goto(pageUrl.href, { waitUntil: 'load' }).catch((e) => {
      throw new CheckFailed(`cannot open ${pageUrl.href}: ${e.message.split('\n')[0]}`);
    });
    check(response && response.ok(), `GET ${pageUrl.href} answered ${response?.status()}`);
    check(
      /^text\/html\b/.test(response.headers()['content-type'] ?? ''),
      `GET ${pageUrl.href} (Accept: text/html) is not HTML but ${response.headers()['content-type']}`,
    );
    const csp = response.headers()['content-security-policy'];
    check(csp, 'the page has no Content-Security-Policy header');
    const d = directives(csp);
    check(d.get('default-src')?.join(' ') === "'none'", `CSP default-src is not 'none': ${csp}`);
    const scripts = d.get('script-src') ?? [];
    check(
      scripts.length > 0 && scripts.every((s) => s === "'self'" || /^'(nonce|sha256|sha384|sha512)-/.test(s)),
      `CSP script-src allows more than 'self' (and nonces or hashes): ${scripts.join(' ')}`,
    );
    for (const name of ['connect-src', 'img-src', 'font-src', 'style-src']) {
      const hosts = (d.get(name) ?? []).filter((s) => !s.startsWith("'") && s !== 'data:');
      check(hosts.length === 0, `CSP ${name} names other sources: ${hosts.join(' ')}`);
    }
    check(d.get('frame-ancestors')?.join(' ') === "'none'", `CSP frame-ancestors is not 'none': ${csp}`);
    return csp;
  });

  await step('the GraphiQL editor appears', async () => {
    await page.locator('.graphiql-container').waitFor();
    await page.locator('.graphiql-query-editor .CodeMirror').waitFor();
    const query = await page.locator('.graphiql-query-editor .CodeMirror').evaluate((el) => el.CodeMirror.getValue());
    check(/counties/.test(query), `the query editor does not hold the default query:\n${query}`);
    return `title "${await page.title()}", default query in the editor`;
  });

  await step('the docs explorer shows the root type Query from introspection', async () => {
    await page.getByRole('button', { name: /show documentation explorer/i }).click();
    const docs = page.locator('.graphiql-doc-explorer');
    await docs.waitFor();
    // Until the introspection result is in, the explorer shows a spinner or an
    // error; the root types appear only with a schema.
    const queryType = docs.locator('.graphiql-doc-explorer-root-type a, a.graphiql-doc-explorer-type-name', {
      hasText: /^Query$/,
    });
    await queryType.first().waitFor().catch(async () => {
      throw new CheckFailed(`the docs explorer shows no root type Query:\n${(await docs.innerText()).slice(0, 500)}`);
    });
    await queryType.first().click();
    await docs.locator('.graphiql-doc-explorer-title', { hasText: /^Query$/ }).waitFor();
    await docs.locator('a.graphiql-doc-explorer-field-name', { hasText: /^counties$/ }).waitFor();
    const fields = await docs.locator('a.graphiql-doc-explorer-field-name').count();
    return `Query with ${fields} fields, among them counties`;
  });

  await step('running the default query shows its data', async () => {
    const answer = page.waitForResponse(
      (r) => r.url() === pageUrl.href && r.request().method() === 'POST' && /counties/.test(r.request().postData() ?? ''),
    );
    await page.getByRole('button', { name: /execute query/i }).click();
    const body = await (await answer).json();
    check(!body.errors, `the query answered errors: ${JSON.stringify(body.errors)}`);
    const nodes = body.data?.counties?.nodes;
    check(Array.isArray(nodes) && nodes.length > 0, `the query answered no counties: ${JSON.stringify(body)}`);
    const result = page.locator('.graphiql-response .CodeMirror');
    await page.waitForFunction(
      (el) => /"counties"/.test(el.CodeMirror.getValue()) && /"nodes"/.test(el.CodeMirror.getValue()),
      await result.elementHandle(),
    );
    const shown = await result.evaluate((el) => el.CodeMirror.getValue());
    check(shown.includes(nodes[0].name), `the result pane does not show ${nodes[0].name}:\n${shown}`);
    if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });
    return nodes.map((n) => `${n.number} ${n.name}`).join(', ');
  });

  await step('the settings dialog opens', async () => {
    // Its scroll lock injects a <style> element: the reason the CSP keeps
    // style-src 'unsafe-inline'. A stricter style-src fails the next check.
    await page.getByRole('button', { name: /open settings dialog/i }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    check(/theme/i.test(await dialog.innerText()), 'the settings dialog shows no theme setting');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    return '';
  });

  await step('no console error, page error, failed request or CSP violation', async () => {
    const violations = await page.evaluate(() => window.__cspViolations);
    check(violations.length === 0, `CSP violations:\n  ${violations.join('\n  ')}`);
    check(problems.length === 0, `problems on the page:\n  ${problems.join('\n  ')}`);
    return '';
  });

  await step('every request went to the page\'s own origin', async () => {
    check(offOrigin.length === 0, `requests to other hosts:\n  ${offOrigin.join('\n  ')}`);
    const urls = requests.filter((r) => !r.endsWith('data:…'));
    return `${urls.length} requests to ${origin} (${requests.length - urls.length} data: URLs)`;
  });

  console.log(`graphiql: GraphiQL at ${pageUrl.href} works (requests: ${requests.join(', ')})`);
} catch (e) {
  status = 1;
  const where = e.step ? `'${e.step}' failed` : 'failed';
  console.error(`not ok ${passed.length + 1} - graphiql: ${where}: ${e instanceof CheckFailed ? e.message : e.stack}`);
  if (problems.length) console.error(`problems seen so far:\n  ${problems.join('\n  ')}`);
  if (offOrigin.length) console.error(`requests to other hosts:\n  ${offOrigin.join('\n  ')}`);
  if (page) {
    const shot = path.join(os.tmpdir(), 'graphiql-failure.png');
    if (await page.screenshot({ path: shot }).then(() => true, () => false)) console.error(`screenshot: ${shot}`);
  }
} finally {
  await browser?.close().catch(() => {});
}
console.log(`graphiql: ${passed.length} passed, ${status ? 1 : 0} failed`);
process.exit(status);
