#!/usr/bin/env node
/* Browser scenarios of the mod_bulkio console: Debian's chromium, headless,
 * driven by puppeteer-core (no browser download). Run by t/browser/console.t:
 *   node t/browser/console.js '{"scenario":"upload","url":"http://127.0.0.1:8529",...}'
 * The token comes in BULKIO_BROWSER_TOKEN, a password in
 * BULKIO_BROWSER_PASSWORD (never in argv). The last line printed is a JSON
 * document: {"checks":[[true,"name"],...],"data":{...}}. */
'use strict';
const path = require('path');
const fs = require('fs');
const top = path.resolve(__dirname, '..', '..');
const puppeteer = require(path.join(top, 'node_modules', 'puppeteer-core'));

const cfg = JSON.parse(process.argv[2] || '{}');
const token = process.env.BULKIO_BROWSER_TOKEN || '';
const checks = [];
const data = {};
const problems = [];

function check(ok, name) { checks.push([!!ok, name]); return !!ok; }

async function textOf(page, sel) {
  return page.$eval(sel, e => e.textContent).catch(() => null);
}

async function waitText(page, sel, text, timeout) {
  return page.waitForFunction((s, t) => {
    const e = document.querySelector(s);
    return e && e.textContent.includes(t);
  }, { timeout: timeout || 15000, polling: 50 }, sel, text);
}

function numbers(s) {
  return (s || '').replace(/,/g, '').match(/\d+/g).map(Number);
}

async function jobDoc(page, kind, id) {
  return page.evaluate(async (k, i, t) => {
    const h = t ? { Authorization: 'Bearer ' + t } : {};
    const r = await fetch('/v1/' + k + 's/' + i, { headers: h, cache: 'no-store' });
    return r.json();
  }, kind, id, cfg.httpd ? '' : token);
}

async function shot(page, name, full) {
  if (!cfg.shots) return;
  fs.mkdirSync(cfg.shots, { recursive: true });
  await page.screenshot({ path: path.join(cfg.shots, name), fullPage: !!full });
  data.screenshots = (data.screenshots || []).concat(name);
}

async function signIn(page) {
  await page.goto(cfg.url + '/v1/console/', { waitUntil: 'networkidle0' });
  await page.waitForSelector('#signin:not([hidden])');
  await page.type('#token', token);
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('#nav:not([hidden])');
}

const scenarios = {
  /* a bad token is refused, a good one signs in; it stays in the tab */
  async signin(page) {
    await page.goto(cfg.url + '/v1/console/', { waitUntil: 'networkidle0' });
    check(await page.$('#signin:not([hidden])'), 'sign-in form shown without a token');
    await page.type('#token', 'not.a.token');
    await page.click('#signin-form button[type=submit]');
    await waitText(page, '#signin-error', 'refused');
    check(true, 'a bad token is refused');
    await page.$eval('#token', e => { e.value = ''; });
    await page.type('#token', token);
    await page.click('#signin-form button[type=submit]');
    await page.waitForSelector('#nav:not([hidden])');
    check((await textOf(page, '#who')) === 'signed in as ' + cfg.sub, 'signed in as ' + cfg.sub);
    const st = await page.evaluate(() => ({ ss: sessionStorage.getItem('bulkio.token'),
      ls: localStorage.length, url: location.href }));
    check(st.ss === token, 'the token is in sessionStorage');
    check(st.ls === 0, 'nothing in localStorage');
    check(!st.url.includes(token.slice(-20)), 'the token is not in the URL');
    await page.reload({ waitUntil: 'networkidle0' });
    await page.waitForSelector('#nav:not([hidden])');
    check(true, 'a reload of the tab stays signed in');
    await page.click('#signout');
    await page.waitForSelector('#signin:not([hidden])');
    check(await page.evaluate(() => sessionStorage.length === 0), 'sign out forgets the token');
  },

  /* upload through the form: upload bar, then job bar to 100 % */
  async upload(page) {
    await signIn(page);
    await page.goto(cfg.url + '/v1/console/#/new-import', { waitUntil: 'networkidle0' });
    await page.select('#f-resource', cfg.resource || 'users');
    const input = await page.waitForSelector('#file');
    await input.uploadFile(cfg.file);
    const seen = { upload: new Set(), job: new Set(), bytes: null, status: new Set() };
    const watch = setInterval(async () => {
      try {
        const s = await page.evaluate(() => ({
          u: document.querySelector('#upload-pct') && document.querySelector('#upload-pct').textContent,
          b: document.querySelector('#upload-bytes') && document.querySelector('#upload-bytes').textContent,
          j: document.querySelector('#job-pct') && document.querySelector('#job-pct').textContent,
          st: document.querySelector('#job-status') && document.querySelector('#job-status').textContent }));
        if (s.u) seen.upload.add(s.u);
        if (s.b) seen.bytes = s.b;
        if (s.j) seen.job.add(s.j);
        if (s.st) seen.status.add(s.st);
      } catch (e) { /* navigation */ }
    }, 25);
    await page.click('#upload');
    await page.waitForSelector('#upload-bar');
    check(true, 'the upload bar appears');
    await waitText(page, '#upload-pct', '100.0 %', 60000);
    await page.waitForSelector('#job-link');
    const id = await textOf(page, '#job-link');
    data.job_id = id;
    await waitText(page, '#job-status', 'completed', 180000);
    await waitText(page, '#job-pct', '100.0 %', 5000);
    clearInterval(watch);
    data.upload_seen = Array.from(seen.upload);
    data.job_seen = Array.from(seen.job);
    data.status_seen = Array.from(seen.status);
    check(seen.upload.has('100.0 %'), 'the upload bar reaches 100 %');
    check(/ of .*\/s$/.test(seen.bytes || ''), 'the upload shows bytes sent and speed: ' + seen.bytes);
    check(seen.job.has('100.0 %'), 'the job bar reaches 100 %');
    const doc = await jobDoc(page, 'import', id);
    data.doc = { totalRecords: doc.totalRecords, successCount: doc.successCount,
                 errorCount: doc.errorCount, status: doc.status };
    const [processed, ok, bad] = numbers(await textOf(page, '#job-counts'));
    check(processed === doc.totalRecords && ok === doc.successCount && bad === doc.errorCount,
          'the counters under the job bar match the job document ('
          + [processed, ok, bad].join('/') + ')');
    /* the job's page */
    await page.click('#job-link');
    await page.waitForSelector('#c-success');
    check(numbers(await textOf(page, '#c-success'))[0] === doc.successCount
          && numbers(await textOf(page, '#c-errors'))[0] === doc.errorCount
          && numbers(await textOf(page, '#c-total'))[0] === doc.totalRecords,
          "the job page's counters match the job document");
    /* the list has it */
    await page.goto(cfg.url + '/v1/console/#/jobs', { waitUntil: 'networkidle0' });
    const row = await page.waitForSelector('tr[data-job="' + id + '"]', { timeout: 10000 })
                          .catch(() => null);
    check(row, 'the jobs list shows the new job');
    if (row) {
      const okText = await row.$eval('.ok-count', e => e.textContent);
      check(numbers(okText)[0] === doc.successCount, 'with its success count');
    }
  },

  /* the list with a running job, then cancel it on its page */
  async cancel(page) {
    await signIn(page);
    await page.goto(cfg.url + '/v1/console/#/jobs', { waitUntil: 'networkidle0' });
    const row = await page.waitForSelector('tr[data-job="' + cfg.job + '"].running', { timeout: 15000 })
                          .catch(() => null);
    check(row, 'the running job is in the list');
    if (row) {
      await page.waitForFunction(id => {
        const r = document.querySelector('tr[data-job="' + id + '"] .pct');
        return r && parseFloat(r.textContent) > 0;
      }, { timeout: 15000, polling: 100 }, cfg.job).catch(() => null);
      check(/records\/s,\s*ETA \d/.test(await row.$eval('.speed', e => e.textContent).catch(() => '')),
            'it shows records/s and ETA');
      /* the finished 100,000-row import's failures, by error type */
      await page.waitForFunction(() => Array.from(document.querySelectorAll('tr.completed .legend span'))
        .some(s => /_ERROR /.test(s.textContent)), { timeout: 10000, polling: 200 }).catch(() => null);
      await shot(page, 'console-jobs.png');
    }
    await page.goto(cfg.url + '/v1/console/#/imports/' + cfg.job, { waitUntil: 'networkidle0' });
    await page.waitForSelector('#cancel');
    check((await textOf(page, '#job-status')) === 'running', 'the job page shows it running');
    await page.waitForFunction(() => {
      const e = document.querySelector('#c-rate');
      return e && parseInt(e.textContent.replace(/,/g, ''), 10) > 0;
    }, { timeout: 5000, polling: 100 }).catch(() => null);
    check(numbers(await textOf(page, '#c-rate') || '0')[0] > 0 && (await textOf(page, '#c-eta')) !== null,
          'with its records/s and ETA');
    await shot(page, 'console-running.png');
    await page.click('#cancel');
    await waitText(page, '#job-status', 'canceled', 60000);
    check(true, 'after Cancel the page shows it canceled');
    check(!(await page.$('#cancel')), 'and offers no Cancel any more');
    const doc = await jobDoc(page, 'import', cfg.job);
    data.doc = { status: doc.status, successCount: doc.successCount };
    check(numbers(await textOf(page, '#c-success'))[0] === doc.successCount,
          'its success count is the job document\'s');
  },

  /* hostile record data is text */
  async xss(page) {
    await page.evaluateOnNewDocument(() => { window.__xss = undefined; });
    await signIn(page);
    await page.goto(cfg.url + '/v1/console/#/imports/' + cfg.job, { waitUntil: 'networkidle0' });
    await page.waitForSelector('#errors .error-row');
    await page.waitForSelector('#outcome .legend span:nth-child(3)', { timeout: 5000 }).catch(() => null);
    const r = await page.evaluate(() => ({
      xss: window.__xss,
      tags: document.querySelectorAll('#view img, #view script, #view iframe, #view svg').length,
      cells: Array.from(document.querySelectorAll('#errors pre.record, #errors .message'), e => e.textContent),
    }));
    data.cells = r.cells.length;
    check(r.xss === undefined, 'no script ran (window.__xss is undefined)');
    check(r.tags === 0, 'no element was made from record data');
    check(r.cells.some(c => c.includes('<img src=x onerror=window.__xss=1>')),
          'the <img onerror> record is shown as text');
    check(r.cells.some(c => c.includes('<script>window.__xss=1</script>')),
          'the <script> record is shown as text');
    const types = await page.$$eval('#outcome .legend span', s => s.map(e => e.textContent));
    data.legend = types;
    check(types.some(t => /^succeeded /.test(t)) && types.filter(t => /_ERROR /.test(t)).length >= 2,
          'the outcome bar splits the failures by error type');
    await shot(page, 'console-errors.png', true);
    /* the list renders the job too, without running anything */
    await page.goto(cfg.url + '/v1/console/#/jobs', { waitUntil: 'networkidle0' });
    await new Promise(res => setTimeout(res, 500));
    check(await page.evaluate(() => window.__xss === undefined), 'the list runs no script either');
  },

  /* an export job with a filter and fields, then its download */
  async export(page) {
    await signIn(page);
    await page.goto(cfg.url + '/v1/console/#/new-export', { waitUntil: 'networkidle0' });
    await page.select('#f-resource', 'users');
    await page.select('#f-format', 'csv');
    await page.select('#f-flt-role', 'admin');
    for (const f of ['name', 'active', 'created_at', 'updated_at']) {
      await page.click('input[name=field][value="' + f + '"]');
    }
    await page.click('#export');
    await page.waitForFunction(() => /^#\/exports\/./.test(location.hash), { timeout: 10000 });
    const id = decodeURIComponent((await page.evaluate(() => location.hash)).split('/')[2]);
    data.job_id = id;
    await waitText(page, '#job-status', 'completed', 60000);
    check(true, 'the export job completes');
    check(/Downloadable until \d{4}-\d\d-\d\d/.test(await textOf(page, '#expiry') || ''),
          'its page shows when the file expires');
    const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'bulkio-dl-'));
    const cdp = await page.browser().target().createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dir });
    const btn = await page.waitForSelector('xpath/.//button[starts-with(., "Download")]');
    await btn.click();
    const want = path.join(dir, 'users-' + id + '.csv');
    for (let i = 0; i < 100 && !fs.existsSync(want); i++) await new Promise(r => setTimeout(r, 100));
    const body = fs.existsSync(want) ? fs.readFileSync(want, 'utf8') : '';
    fs.rmSync(dir, { recursive: true, force: true });
    const lines = body.trim().split(/\r?\n/);
    data.download = { lines: lines.length, header: lines[0] };
    check(lines[0] === 'id,email,role', 'the downloaded file is the CSV with the chosen fields');
    data.rows = lines.length - 1;
    check(lines.slice(1).every(l => /,admin$/.test(l)), 'only the filtered rows');
  },

  /* BulkIOAuth httpd behind mod_auth_basic */
  async httpd(page) {
    await page.authenticate({ username: cfg.user, password: process.env.BULKIO_BROWSER_PASSWORD });
    await page.goto(cfg.url + '/v1/console/', { waitUntil: 'networkidle0' });
    await page.waitForSelector('#nav:not([hidden])', { timeout: 10000 });
    check((await textOf(page, '#who')) === 'signed in through the server',
          'signed in by httpd authentication, no token asked');
    check(await page.$('#signin[hidden]'), 'the token form stays hidden');
    await page.goto(cfg.url + '/v1/console/#/new-import', { waitUntil: 'networkidle0' });
    const input = await page.waitForSelector('#file');
    await input.uploadFile(cfg.file);
    await page.click('#upload');
    await page.waitForSelector('#job-link', { timeout: 30000 });
    data.job_id = await textOf(page, '#job-link');
    await waitText(page, '#job-status', 'completed', 60000);
    check(true, 'an upload through the console (same-origin POST) runs to completed');
    /* a page of another origin posts to the API with the browser's credentials */
    const statuses = [];
    page.on('response', res => {
      if (res.request().method() === 'POST' && res.url().includes('/v1/imports')) statuses.push(res.status());
    });
    await page.goto(cfg.other);
    /* the classic cross-site request: a form that posts to the API; the
     * browser answers the server's Basic challenge with carol's password */
    const nav = page.waitForNavigation({ waitUntil: 'load' });
    await page.evaluate(target => {
      const f = document.createElement('form');
      f.method = 'POST';
      f.enctype = 'text/plain';
      f.action = target + '/v1/imports?resource=users&format=ndjson';
      const i = document.createElement('input');
      i.name = '{"email":"csrf@example.com","x":"';
      i.value = '"}';
      f.appendChild(i);
      document.body.appendChild(f);
      f.submit();
    }, cfg.url);
    await nav;
    const text = await page.evaluate(() => document.body.textContent);
    data.cross = { statuses: statuses, body: text.slice(0, 200) };
    check(statuses.includes(403) && !statuses.includes(202),
          'a cross-origin POST is refused with 403 (' + statuses.join(',') + ')');
    check(/cross-origin request refused/.test(text), 'with a problem document saying why');
  },
};

(async () => {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    /* CI runs as root, where chromium's sandbox cannot start */
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    defaultViewport: { width: 1280, height: 760 },
  });
  let failed = null;
  try {
    const page = await browser.newPage();
    page.on('pageerror', e => problems.push('page error: ' + e.message));
    page.on('console', m => {
      if (m.type() === 'error' && !/status of 40[134]/.test(m.text())) problems.push('console: ' + m.text());
    });
    page.setDefaultTimeout(20000);
    await scenarios[cfg.scenario](page);
  } catch (e) {
    failed = e.stack || String(e);
  } finally {
    await browser.close();
  }
  if (failed) check(false, cfg.scenario + ' ran to its end: ' + failed.split('\n').slice(0, 3).join(' | '));
  check(!problems.some(p => /Content Security Policy|page error/.test(p)),
        'no script error and no CSP violation' + (problems.length ? ': ' + problems.join(' | ') : ''));
  data.problems = problems;
  process.stdout.write(JSON.stringify({ checks: checks, data: data }) + '\n');
})();
