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

/* Every value the texts of sels took in the page, recorded by a
 * MutationObserver as the page changes them (not sampled from here: a
 * sampler can miss the last state, see upload). */
async function recordTexts(page, sels) {
  await page.evaluate(list => {
    window.__seen = {};
    list.forEach(s => { window.__seen[s] = []; });
    const take = () => list.forEach(s => {
      const e = document.querySelector(s);
      const v = e && (e.matches('button') ? (e.disabled ? 'disabled' : 'enabled') : e.textContent);
      const seen = window.__seen[s];
      if (v !== null && v !== undefined && seen[seen.length - 1] !== v) seen.push(v);
    });
    new MutationObserver(take).observe(document.body, { subtree: true, childList: true,
                                                        characterData: true, attributes: true });
    take();
  }, sels);
}

async function seenTexts(page) {
  return page.evaluate(() => window.__seen);
}

/* WCAG 2 contrast of each badge state (its text on its background),
 * computed in the page from the computed colours */
async function badgeContrast(page) {
  return page.evaluate(() => {
    const rgb = c => c.match(/[\d.]+/g).slice(0, 3).map(Number);
    const lum = c => {
      const [r, g, b] = rgb(c).map(v => {
        v /= 255;
        return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const ratio = (a, b) => {
      const [x, y] = [lum(a), lum(b)].sort((m, n) => n - m);
      return (x + 0.05) / (y + 0.05);
    };
    const out = {};
    for (const cls of ['pending', 'running', 'completed', 'completed-errors', 'failed', 'canceled']) {
      const b = document.createElement('span');
      b.className = 'badge ' + cls;
      b.textContent = cls;
      document.body.appendChild(b);
      const cs = getComputedStyle(b);
      out[cls] = Math.round(ratio(cs.color, cs.backgroundColor) * 100) / 100;
      b.remove();
    }
    return out;
  });
}

/* the document does not scroll sideways; Sign out is inside the header */
async function layout(page) {
  return page.evaluate(() => {
    const h = document.querySelector('header.top').getBoundingClientRect();
    const s = document.querySelector('#signout').getBoundingClientRect();
    return {
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      inside: s.width > 0 && s.left >= h.left && s.right <= h.right && s.top >= h.top && s.bottom <= h.bottom,
    };
  });
}

function curl(args) {
  const hdr = path.join(require('os').tmpdir(), 'bulkio-curl-' + process.pid);
  fs.writeFileSync(hdr, 'Authorization: Bearer ' + token + '\n', { mode: 0o600 });
  try {
    const out = require('child_process').execFileSync('curl', ['-sS', '-H', '@' + hdr].concat(args));
    return JSON.parse(out.toString());
  } finally {
    fs.rmSync(hdr, { force: true });
  }
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
    await page.type('#token', process.env.BULKIO_BROWSER_EXPIRED || '');
    await page.click('#signin-form button[type=submit]');
    await waitText(page, '#signin-error', 'token expired').catch(() => null);
    check(/^The server refused this token: .*token expired$/.test(await textOf(page, '#signin-error') || ''),
          "an expired token: the server's reason is shown (" + await textOf(page, '#signin-error') + ')');
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
    /* The bars' texts as the page sets them. (A sampler here that polled
     * the page every 25 ms missed the final "100.0 %" on a loaded first
     * run: the sample that would have seen it was still in flight when the
     * waits below returned and the sampling stopped.) */
    await recordTexts(page, ['#upload-pct', '#upload-bytes', '#job-pct', '#job-status', '#upload']);
    await page.click('#upload');
    await page.waitForSelector('#upload-bar');
    check(true, 'the upload bar appears');
    await waitText(page, '#upload-pct', '100.0 %', 60000);
    await page.waitForSelector('#job-link');
    const id = await textOf(page, '#job-link');
    data.job_id = id;
    await waitText(page, '#job-status', 'completed', 180000);
    await waitText(page, '#job-pct', '100.0 %', 5000);
    const seen = await seenTexts(page);
    data.upload_seen = seen['#upload-pct'];
    data.job_seen = seen['#job-pct'];
    data.status_seen = seen['#job-status'];
    const bytesLine = seen['#upload-bytes'][seen['#upload-bytes'].length - 1] || '';
    check(seen['#upload-pct'].includes('100.0 %'), 'the upload bar reaches 100 %');
    check(/^\d+(\.\d)? (B|KB|MB|GB) of \d+(\.\d)? (B|KB|MB|GB), \d+(\.\d)? (B|KB|MB|GB)\/s$/.test(bytesLine),
          'the upload shows bytes sent and speed, rounded: ' + bytesLine);
    check(seen['#job-pct'].includes('100.0 %'), 'the job bar reaches 100 %');
    check(seen['#upload'].includes('disabled'), 'Upload is disabled while the upload runs');
    check(/took \d+(\.\d)? s/.test(await textOf(page, '#job-counts')),
          'its run time: ' + await textOf(page, '#job-counts'));
    /* a second click on Upload, the same file still chosen: the same key,
     * the same job (console.t counts the jobs in the table) */
    await page.click('#upload');
    await page.waitForFunction(() => window.__seen['#upload'].filter(v => v === 'disabled').length >= 2
                               && !document.querySelector('#upload').disabled, { timeout: 60000 });
    await waitText(page, '#job-status', 'completed', 10000);
    check((await textOf(page, '#job-link')) === id, 'a second click on Upload shows the same job');
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
      await page.waitForFunction(() => Array.from(document.querySelectorAll('tr.job .legend span'))
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
    check((await textOf(page, '#c-total')) === 'unknown', 'the file\'s total is unknown while it runs');
    await shot(page, 'console-running.png');
    await page.click('#cancel');
    await page.waitForSelector('#cancel-question');
    const q = await textOf(page, '#cancel-text');
    check(/stay applied/.test(q || ''), 'Cancel asks first, saying that applied rows stay applied: ' + q);
    await shot(page, 'console-cancel.png');
    await page.click('#cancel-keep');
    await page.waitForFunction(() => !document.querySelector('#cancel-question'));
    check((await jobDoc(page, 'import', cfg.job)).status === 'running', '"No" leaves the job running');
    await page.click('#cancel');
    await page.waitForSelector('#cancel-confirm');
    await page.click('#cancel-confirm');
    await waitText(page, '#job-status', 'canceled', 60000);
    check(true, 'after Cancel and "Yes" the page shows it canceled');
    check(!(await page.$('#cancel')), 'and offers no Cancel any more');
    const doc = await jobDoc(page, 'import', cfg.job);
    data.doc = { status: doc.status, successCount: doc.successCount };
    await page.waitForFunction(n => {
      const e = document.querySelector('#c-success');
      return e && e.textContent.replace(/,/g, '') === String(n);
    }, { timeout: 5000 }, doc.successCount).catch(() => null);
    check(numbers(await textOf(page, '#c-success'))[0] === doc.successCount,
          'its success count is the job document\'s');
    const note = await textOf(page, '#canceled-note') || '';
    check(note.includes(doc.successCount.toLocaleString('en-US') + ' records applied before the cancel stay applied'),
          'the canceled page says what stays applied: ' + note);
    check((await textOf(page, '#c-total')) === 'unknown', 'and does not call the records processed the total');
  },

  /* hostile record data is text */
  async xss(page) {
    const errReqs = [];
    page.on('request', r => { if (/\/errors(\?|$)/.test(new URL(r.url()).pathname + '?')) errReqs.push(r.url()); });
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
    check(errReqs.length === 0, 'the outcome bar comes from errorCounts: no request to an /errors URL ('
          + errReqs.join(' ') + ')');
    check(/completed with errors/.test(await textOf(page, '#job-status') || ''),
          'a completed job with failures reads "completed with errors"');
    check(!!(await page.$('#results-ndjson')) && !!(await page.$('#results-csv'))
          && !(await page.$('#no-results')),
          'an ended import offers its per-record results (NDJSON, CSV)');
    await shot(page, 'console-errors.png', true);
    /* the list renders the job too, without running anything */
    await page.goto(cfg.url + '/v1/console/#/jobs', { waitUntil: 'networkidle0' });
    await new Promise(res => setTimeout(res, 500));
    check(await page.evaluate(() => window.__xss === undefined), 'the list runs no script either');
  },

  /* an import past the server's error cap, its webhook refused */
  async caps(page) {
    await signIn(page);
    await page.goto(cfg.url + '/v1/console/#/imports/' + cfg.job, { waitUntil: 'networkidle0' });
    await page.waitForSelector('#job-webhook');
    const doc = await jobDoc(page, 'import', cfg.job);
    data.webhook = doc.webhook;
    const note = await textOf(page, '#errors-truncated') || '';
    check(note.includes('stop at line 22 (record 21): 10 entries kept of 20 failed records'),
          'the page says where the error entries stop: ' + note);
    const facts = await page.$$eval('#job-webhook dt, #job-webhook dd', e => e.map(x => x.textContent));
    const fact = k => facts[facts.indexOf(k) + 1];
    check(fact('URL') === cfg.hook, 'the webhook\'s URL: ' + fact('URL'));
    check(fact('State') === doc.webhook.state && fact('Tries') === String(doc.webhook.attempts),
          'its state and tries as the job document has them: ' + facts.join(' | '));
    check(!!doc.webhook.lastError && (fact('Last answer') || '').includes(doc.webhook.lastError),
          'and why the last try failed: ' + fact('Last answer'));
    check(doc.resultsUrl === null && !(await page.$('#results-ndjson'))
          && !(await page.$('#results-csv')) && !!(await page.$('#errors-ndjson')),
          'an import that keeps no per-record results offers none, its errors still');
    const none = await textOf(page, '#no-results') || '';
    check(none.includes('keeps none (BulkIOImportResults Off)'),
          'and says why there are none: ' + none);
    await shot(page, 'console-caps.png', true);
  },

  /* an export job with a filter and fields, then its download */
  async export(page) {
    await page.evaluateOnNewDocument(() => {
      window.__blobs = 0;
      const orig = URL.createObjectURL;
      URL.createObjectURL = function (b) { window.__blobs++; return orig.call(URL, b); };
      /* the links the page follows to download */
      window.__links = [];
      const click = HTMLAnchorElement.prototype.click;
      HTMLAnchorElement.prototype.click = function () { window.__links.push(this.href); return click.call(this); };
    });
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
    const about = await textOf(page, '#job-about') || '';
    check(/role = admin/.test(about) && /id, email, role/.test(about) && /alice/.test(about),
          'its page shows its filters, fields and who made it: ' + about);
    const btn = await page.waitForSelector('#download');
    await btn.click();
    /* the server's Content-Disposition name */
    const want = path.join(dir, 'export-' + id + '.csv');
    for (let i = 0; i < 100 && !fs.existsSync(want); i++) await new Promise(r => setTimeout(r, 100));
    const body = fs.existsSync(want) ? fs.readFileSync(want, 'utf8') : '';
    check(fs.existsSync(want), 'saved under the server\'s file name: ' + fs.readdirSync(dir).join(' '));
    /* with BulkIODownloadSecret (the test server has one) the job's
     * signedDownloadUrl is the link itself; else the service worker
     * streams the token download */
    const sw = await page.evaluate(() => ({ blobs: window.__blobs,
      signed: window.__links.some(h => /\/signed-download\?expires=\d+&signature=/.test(h)),
      controlled: !!(navigator.serviceWorker && navigator.serviceWorker.controller) }));
    check((sw.signed || sw.controlled) && sw.blobs === 0,
          'streamed to disk by the signed link or the service worker, never held whole in a blob ('
          + JSON.stringify(sw) + ')');
    fs.rmSync(dir, { recursive: true, force: true });
    const lines = body.trim().split(/\r?\n/);
    data.download = { lines: lines.length, header: lines[0] };
    check(lines[0] === 'id,email,role', 'the downloaded file is the CSV with the chosen fields');
    data.rows = lines.length - 1;
    check(lines.slice(1).every(l => /,admin$/.test(l)), 'only the filtered rows');
  },

  /* Cancel a running export from its page. console.t holds a lock on
   * users, so the export's query waits: signed in, it says "step
   * signed-in", makes the job and writes its id into cfg.gate; once the
   * cancel is asked for, "step cancel-requested", and it lets the lock go. */
  async exportcancel(page) {
    const deletes = [];
    page.on('request', r => { if (r.method() === 'DELETE') deletes.push(r.url()); });
    await signIn(page);
    process.stdout.write('step signed-in\n');
    let id = '';
    for (let i = 0; i < 600 && !id; i++) {
      if (fs.existsSync(cfg.gate)) id = fs.readFileSync(cfg.gate, 'utf8').trim();
      else await new Promise(r => setTimeout(r, 50));
    }
    data.job_id = id;
    check(id, 'console.t made an export job: ' + id);
    await page.goto(cfg.url + '/v1/console/#/exports/' + encodeURIComponent(id), { waitUntil: 'networkidle0' });
    await waitText(page, '#job-status', 'running');
    check(true, 'the export job page shows running');
    await page.click('#cancel');
    await page.waitForSelector('#cancel-question');
    const question = await textOf(page, '#cancel-text') || '';
    check(/^Cancel this export\? .*no file is kept/.test(question), 'Cancel asks first: ' + question);
    check(deletes.length === 0 && (await textOf(page, '#job-status')) === 'running',
          'nothing is canceled before the answer');
    /* No keeps the job; the question comes back with Cancel */
    await page.click('#cancel-keep');
    await page.waitForSelector('#cancel');
    check(!(await page.$('#cancel-question')) && deletes.length === 0,
          'No, keep exporting: the question goes, nothing sent');
    await page.click('#cancel');
    await page.waitForSelector('#cancel-confirm');
    const answer = page.waitForResponse(r => r.request().method() === 'DELETE', { timeout: 10000 });
    await page.click('#cancel-confirm');
    const res = await answer;
    check(res.status() === 202 && deletes.length === 1 && deletes[0].endsWith('/v1/exports/' + id),
          'Yes sends one DELETE /v1/exports/{id}, answered 202 (' + res.status() + ' ' + deletes.join(' ') + ')');
    await waitText(page, '#cancel-note', 'Cancel requested.');
    check(true, 'the page says the cancel is requested');
    process.stdout.write('step cancel-requested\n');
    await waitText(page, '#job-status', 'canceled', 30000);
    check(true, 'the export job page shows canceled');
    const note = await textOf(page, '#canceled-note') || '';
    check(note === 'Canceled. No file was kept; the table was not changed.', 'and says no file was kept: ' + note);
    check(!(await page.$('#download')) && !(await page.$('#cancel')),
          'no Download button, no Cancel button any more');
    const doc = await jobDoc(page, 'export', id);
    check(doc.status === 'canceled' && !doc.downloadUrl, 'the job document: canceled, no download URL');
  },

  /* a URL import that fails says why on the import page */
  async urlfail(page) {
    await signIn(page);
    await page.goto(cfg.url + '/v1/console/#/new-import', { waitUntil: 'networkidle0' });
    await page.type('#url', cfg.url + '/no-such-file.ndjson');
    await page.click('#upload');
    await waitText(page, '#job-status', 'failed', 30000);
    await waitText(page, '#job-reason', 'The job failed: ', 5000).catch(() => null);
    const reason = await textOf(page, '#job-reason') || '';
    data.reason = reason;
    check(/^The job failed: \S/.test(reason), 'the failed URL import\'s reason is on the import page: ' + reason);
    data.job_id = await textOf(page, '#job-link');
  },

  /* One list across kinds, newest first, paged by the server; jobs made
   * with curl while the page is open appear; no error report is read. */
  async list(page) {
    const errReqs = [];
    page.on('request', r => { if (/\/errors$/.test(new URL(r.url()).pathname)) errReqs.push(r.url()); });
    await signIn(page);
    await page.goto(cfg.url + '/v1/console/#/jobs', { waitUntil: 'networkidle0' });
    await page.waitForSelector('#jobs-body tr');
    const made = [];
    const file = path.join(require('os').tmpdir(), 'bulkio-list-' + process.pid + '.ndjson');
    fs.writeFileSync(file, '{"email":"list@example.com","name":"list"}\n');
    for (let i = 0; i < cfg.count; i++) {
      const doc = i % 2
        ? curl(['-X', 'POST', '-H', 'Content-Type: application/json',
                '--data-binary', '{"resource":"users","format":"ndjson"}', cfg.url + '/v1/exports'])
        : curl(['-X', 'POST', '-H', 'Content-Type: application/x-ndjson', '--data-binary', '@' + file,
                cfg.url + '/v1/imports?resource=users']);
      made.push((i % 2 ? 'export' : 'import') + ':' + doc.job_id);
    }
    fs.rmSync(file, { force: true });
    const newest = made.slice().reverse();
    /* the list reads its first page again by itself (no reload) */
    await page.waitForFunction(first => {
      const r = document.querySelector('#jobs-body tr');
      return r && r.dataset.kind + ':' + r.dataset.job === first;
    }, { timeout: 20000, polling: 200 }, newest[0]).catch(() => null);
    const rows = () => page.$$eval('#jobs-body tr.job', t => t.map(r => r.dataset.kind + ':' + r.dataset.job));
    const older = async () => {
      for (let i = 0; i < 5 && await page.$('#more:not([hidden]):not([disabled])'); i++) {
        const n = (await rows()).length;
        await page.click('#more');
        await page.waitForFunction(m => document.querySelectorAll('#jobs-body tr.job').length > m,
                                   { timeout: 10000 }, n);
      }
      return rows();
    };
    let shown = await older();
    data.shown = shown;
    check(shown.slice(0, cfg.count).join() === newest.join(),
          'the jobs made with curl appear without a reload, newest first across kinds');
    /* the same list read afresh: 20 a page, then Older jobs */
    await page.reload({ waitUntil: 'networkidle0' });
    await page.waitForSelector('#jobs-body tr.job');
    shown = await rows();
    check(shown.length === 20 && shown.join() === newest.slice(0, 20).join(),
          'page one is the 20 newest across kinds');
    data.count_text = await textOf(page, '#jobs-count');
    check((await page.$('#more:not([hidden])')) !== null, 'Older jobs is offered');
    shown = await older();
    check(shown.slice(0, cfg.count).join() === newest.join() && !(await page.$('#more:not([hidden])')),
          'Older jobs continues the same order to the end (' + shown.length + ' rows)');
    const created = await page.$$eval('#jobs-body tr.job td[data-label=Created]', t => t.map(c => c.textContent));
    check(created.every(c => / UTC$/.test(c)), 'times are in UTC, with the zone shown: ' + created[0]);
    const keys = shown.map(k => k.split(':')[0]);
    check(keys.includes('import') && keys.includes('export'), 'imports and exports in the one list');
    check(errReqs.length === 0, 'no request to an /errors URL while the list loads and refreshes ('
          + errReqs.length + ')');
    data.made = made;
    /* badge contrast, light and dark */
    data.contrast = {};
    for (const scheme of ['light', 'dark']) {
      await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: scheme }]);
      const c = await badgeContrast(page);
      data.contrast[scheme] = c;
      check(Object.values(c).every(v => v >= 4.5),
            'badge text contrast is at least 4.5:1 in the ' + scheme + ' scheme: ' + JSON.stringify(c));
    }
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'console-dark.png');
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
  },

  /* a phone: 390×844 and 360 wide */
  async phone(page) {
    await signIn(page);
    for (const [w, h] of [[390, 844], [360, 740]]) {
      await page.setViewport({ width: w, height: h, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
      for (const [name, hash, sel] of [['jobs', '#/jobs', '#jobs-body tr.job'],
                                       ['job', '#/imports/' + cfg.job, '#errors .error-row'],
                                       ['import', '#/new-import', '#file'],
                                       ['export', '#/new-export', '#fields']]) {
        await page.goto(cfg.url + '/v1/console/' + hash, { waitUntil: 'networkidle0' });
        await page.waitForSelector(sel);
        const l = await layout(page);
        check(l.overflow <= 0, w + ' px, ' + name + ': the page does not scroll sideways (' + l.overflow + ' px over)');
        check(l.inside, w + ' px, ' + name + ': Sign out is inside the header');
        if (w === 390 && name === 'jobs') await shot(page, 'console-phone-jobs.png');
        if (w === 390 && name === 'job') await shot(page, 'console-phone-job.png');
      }
    }
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
