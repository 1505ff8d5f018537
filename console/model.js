/* What the API knows: resources, their fields and export filters, job
 * statuses, file formats, import modes and actions, error types. */

export const RESOURCES = ['users', 'articles', 'comments'];
export const STATUSES = ['pending', 'running', 'completed', 'failed', 'canceled'];
export const FORMATS = ['ndjson', 'json', 'csv'];
export const ERROR_TYPES = ['PARSE_ERROR', 'VALIDATION_ERROR', 'FOREIGN_KEY_ERROR',
                            'DUPLICATE_ERROR', 'NOT_FOUND_ERROR'];
/* how an import writes (upsert is the server's default), and what it did
 * to each record's row: the documents' insertedCount, updatedCount, … */
export const MODES = ['upsert', 'insert', 'update', 'replace', 'delete'];
export const ACTIONS = ['inserted', 'updated', 'unchanged', 'deleted'];
export const FIELDS = {
  users: ['id', 'email', 'name', 'role', 'active', 'created_at', 'updated_at'],
  articles: ['id', 'slug', 'title', 'body', 'author_id', 'tags',
             'published_at', 'status'],
  comments: ['id', 'article_id', 'user_id', 'body', 'created_at'],
};
/* per resource: [name, its values (a select) or null (an id)] */
export const FILTERS = {
  users: [['role', ['admin', 'author', 'reader']], ['active', ['true', 'false']]],
  articles: [['status', ['draft', 'published']], ['author_id', null]],
  comments: [['article_id', null], ['user_id', null]],
};
export const TIME_FILTERS = ['created_after', 'created_before', 'updated_after'];
