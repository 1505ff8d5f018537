/* Signing in: a token pasted into the form (kept in this tab's
 * sessionStorage), or httpd's own authentication when the server accepts
 * the browser without one; and signing out. */
import { onSessionEnd, probe, session } from './api.js';
import { byId } from './dom.js';
import { route, stopPolling } from './router.js';

const TOKEN_KEY = 'bulkio.token';

/* The token's subject (unverified: for the header line only). */
function tokenSubject(tok) {
  try {
    const part = tok.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(part + '==='.slice((part.length + 3) % 4)));
    return typeof claims.sub === 'string' ? claims.sub : null;
  } catch (e) { return null; }
}

function signIn(mode, token) {
  session.mode = mode;
  session.token = token;
  byId('signin').hidden = true;
  byId('nav').hidden = false;
  byId('signout').hidden = mode !== 'token';
  if (mode === 'token') {
    const sub = tokenSubject(token);
    byId('who').textContent = sub ? 'signed in as ' + sub : 'signed in with a token';
  }
  else {
    byId('who').textContent = 'signed in through the server';
  }
  route();
}

function signOut(message) {
  session.token = null;
  session.mode = null;
  sessionStorage.removeItem(TOKEN_KEY);
  stopPolling();
  byId('view').hidden = true;
  byId('nav').hidden = true;
  byId('signout').hidden = true;
  byId('who').textContent = '';
  byId('signin').hidden = false;
  byId('signin-error').textContent = message || '';
}

async function submit(ev) {
  ev.preventDefault();
  const tok = byId('token').value.trim().replace(/^(Bearer|Token)\s+/i, '');
  const error = byId('signin-error');
  error.textContent = '';
  try {
    const refused = await probe(tok);
    if (refused !== null) {
      error.textContent = 'The server refused this token: ' + refused;
      return;
    }
  } catch (e) {
    error.textContent = 'The server cannot be reached: ' + e.message;
    return;
  }
  byId('token').value = '';
  sessionStorage.setItem(TOKEN_KEY, tok);
  signIn('token', tok);
}

/* Wire the form, then sign in with the tab's token or httpd's
 * authentication if the server takes either, else show the form. */
export async function start() {
  byId('signin-form').addEventListener('submit', submit);
  byId('signout').addEventListener('click', () => signOut());
  onSessionEnd(reason => signOut('Your session has ended' + (reason ? ' (' + reason + ')' : '')
                                 + ': sign in again.'));

  const saved = sessionStorage.getItem(TOKEN_KEY);
  let note = '';
  try {
    if (saved) {
      const refused = await probe(saved);
      if (refused === null) return signIn('token', saved);
      note = 'The server refused the saved token: ' + refused;
    }
    /* BulkIOAuth httpd: the browser's own credentials are enough */
    if (await probe(null) === null) return signIn('httpd', null);
  } catch (e) { /* offline: the form says so on submit */ }
  signOut(note);
}
