/* mod_bulkio console: the entry module. Plain JavaScript modules, no
 * framework, no build step, no network but the module's own API:
 *   api.js      the API client (where, token, problem+json errors)
 *   router.js   hash routes and the current view's polling
 *   signin.js   signing in and out
 *   jobs.js     the job list          job.js     a job's page
 *   import.js   the new-import form   export.js  the new-export form
 *   bars.js     progress and outcome bars
 *   dom.js, format.js, model.js: building the page (data always as text),
 *   formatting, the API's vocabulary. */
import { setRoutes } from './router.js';
import { start } from './signin.js';
import { jobsList } from './jobs.js';
import { jobPage } from './job.js';
import { newImport } from './import.js';
import { newExport } from './export.js';

setRoutes([
  { name: 'jobs', show: jobsList },
  { name: 'imports', id: true, show: (view, id) => jobPage(view, 'import', id) },
  { name: 'exports', id: true, show: (view, id) => jobPage(view, 'export', id) },
  { name: 'new-import', show: newImport },
  { name: 'new-export', show: newExport },
]);
start();
