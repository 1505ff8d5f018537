-- mod_bulkio schema, migration 001: the data set, the job queue, record errors, idempotency keys.

CREATE TABLE users (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_id text        NOT NULL UNIQUE,
    email       text        NOT NULL,
    name        text,
    role        text        NOT NULL DEFAULT 'reader'
                CHECK (role IN ('admin', 'author', 'reader')),
    active      boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE articles (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_id  text        NOT NULL UNIQUE,
    slug         text        NOT NULL UNIQUE,
    title        text        NOT NULL,
    body         text        NOT NULL,
    author_id    bigint      NOT NULL REFERENCES users (id),
    tags         text[]      NOT NULL DEFAULT '{}',
    published_at timestamptz,
    status       text        NOT NULL DEFAULT 'draft'
                 CHECK (status IN ('draft', 'published')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX articles_author_id_idx ON articles (author_id);

CREATE TABLE comments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_id text        NOT NULL UNIQUE,
    article_id  bigint      NOT NULL REFERENCES articles (id),
    user_id     bigint      NOT NULL REFERENCES users (id),
    body        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comments_article_id_idx ON comments (article_id);
CREATE INDEX comments_user_id_idx ON comments (user_id);

-- One row per import or export job. PostgreSQL is the queue: workers claim
-- pending (or lease-expired running) jobs with FOR UPDATE SKIP LOCKED.
CREATE TABLE bulkio_jobs (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id         uuid        NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    kind              text        NOT NULL CHECK (kind IN ('import', 'export')),
    resource          text        NOT NULL
                      CHECK (resource IN ('users', 'articles', 'comments')),
    format            text        CHECK (format IN ('ndjson', 'json', 'csv')),
    status            text        NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'running', 'completed',
                                        'failed', 'canceled')),
    principal         text        NOT NULL,
    source_path       text,                 -- spool file (import input, export output)
    source_url        text,                 -- URL import
    params            jsonb       NOT NULL DEFAULT '{}',  -- export filters and fields
    reason            text,                 -- why a job failed
    total_records     bigint      NOT NULL DEFAULT 0,
    success_count     bigint      NOT NULL DEFAULT 0,
    error_count       bigint      NOT NULL DEFAULT 0,
    bytes_total       bigint      NOT NULL DEFAULT 0,
    checkpoint_records bigint     NOT NULL DEFAULT 0,  -- records consumed by committed batches
    checkpoint_bytes  bigint      NOT NULL DEFAULT 0,  -- input bytes consumed by committed batches
    file_size         bigint,
    cancel_requested  boolean     NOT NULL DEFAULT false,
    lease_server      text,                 -- the server (BulkIOServerName) running it
    lease_owner       text,                 -- that server's process and thread
    lease_expires_at  timestamptz,
    attempts          integer     NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    completed_at      timestamptz,
    expires_at        timestamptz
);
CREATE INDEX bulkio_jobs_queue_idx ON bulkio_jobs (created_at, id)
    WHERE status IN ('pending', 'running');
CREATE INDEX bulkio_jobs_principal_idx ON bulkio_jobs (principal);

-- Every failed record of an import job, in record order.
CREATE TABLE bulkio_job_errors (
    job_id        bigint  NOT NULL REFERENCES bulkio_jobs (id) ON DELETE CASCADE,
    record_index  bigint  NOT NULL,
    line          bigint  NOT NULL,
    field         text,
    error_type    text    NOT NULL
                  CHECK (error_type IN ('PARSE_ERROR', 'VALIDATION_ERROR',
                                        'FOREIGN_KEY_ERROR', 'DUPLICATE_ERROR')),
    error_message text    NOT NULL,
    record_data   text,
    PRIMARY KEY (job_id, record_index)
);

-- Idempotency-Key: scoped to principal and endpoint. A row is 'receiving'
-- while its first request uploads (its lease is renewed), then 'done' with
-- the fingerprint of the request and the response to replay.
CREATE TABLE bulkio_idempotency_keys (
    principal     text        NOT NULL,
    endpoint      text        NOT NULL,
    idem_key      text        NOT NULL,
    state         text        NOT NULL CHECK (state IN ('receiving', 'done')),
    fingerprint   text,
    job_id        bigint      REFERENCES bulkio_jobs (id) ON DELETE CASCADE,
    response_status integer,
    response_body text,
    lease_expires_at timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (principal, endpoint, idem_key)
);
