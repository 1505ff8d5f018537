/* bulkio: progress lines and the summary. The formatters are pure (unit
 * tested); cli_progress_show decides when and how a line goes out. */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cli.h"

void cli_fmt_bytes(char *buf, size_t len, double b)
{
    if (b < 1024) {
        snprintf(buf, len, "%.0f B", b < 0 ? 0 : b);
    }
    else if (b < 1024.0 * 1024) {
        snprintf(buf, len, "%.1f KiB", b / 1024);
    }
    else if (b < 1024.0 * 1024 * 1024) {
        snprintf(buf, len, "%.1f MiB", b / (1024.0 * 1024));
    }
    else {
        snprintf(buf, len, "%.2f GiB", b / (1024.0 * 1024 * 1024));
    }
}

void cli_fmt_count(char *buf, size_t len, int64_t n)
{
    char digits[32], out[48];
    size_t i, k = 0, nd;
    int neg = n < 0;

    snprintf(digits, sizeof(digits), "%" PRIu64,
             neg ? (uint64_t)0 - (uint64_t)n : (uint64_t)n);
    nd = strlen(digits);
    if (neg) {
        out[k++] = '-';
    }
    for (i = 0; i < nd; ++i) {
        if (i && (nd - i) % 3 == 0) {
            out[k++] = ',';
        }
        out[k++] = digits[i];
    }
    out[k] = '\0';
    snprintf(buf, len, "%s", out);
}

void cli_fmt_eta(char *buf, size_t len, double s)
{
    long t;

    if (s < 0 || s > 360000.0 * 24) {
        snprintf(buf, len, "--:--");
        return;
    }
    t = (long)(s + 0.5);
    if (t >= 3600) {
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    }
    else {
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
    }
}

void cli_fmt_duration(char *buf, size_t len, double s)
{
    long t;

    if (s < 0) {
        s = 0;
    }
    if (s < 60) {
        snprintf(buf, len, "%.1f s", s);
        return;
    }
    t = (long)(s + 0.5);
    if (t < 3600) {
        snprintf(buf, len, "%ld m %ld s", t / 60, t % 60);
    }
    else {
        snprintf(buf, len, "%ld h %ld m", t / 3600, t / 60 % 60);
    }
}

void cli_fmt_transfer(char *buf, size_t len, const char *what,
                      const char *name, double done, double total,
                      double rate)
{
    char d[32], t[32], r[32];

    cli_fmt_bytes(d, sizeof(d), done);
    cli_fmt_bytes(r, sizeof(r), rate);
    if (total > 0) {
        cli_fmt_bytes(t, sizeof(t), total);
        snprintf(buf, len, "%s%s%s: %s of %s  %5.1f%%  %s/s", what,
                 name ? " " : "", name ? name : "", d, t,
                 100.0 * (done > total ? total : done) / total, r);
    }
    else {
        snprintf(buf, len, "%s%s%s: %s  %s/s", what, name ? " " : "",
                 name ? name : "", d, r);
    }
}

void cli_fmt_upload(char *buf, size_t len, const char *name, double sent,
                    double total, double rate)
{
    cli_fmt_transfer(buf, len, "upload", name, sent, total, rate);
}

void cli_fmt_job(char *buf, size_t len, const cli_job_progress_t *p)
{
    char n[32], e[32], r[32], eta[16], pct[16];

    cli_fmt_count(n, sizeof(n), p->processed);
    cli_fmt_count(e, sizeof(e), p->errors);
    cli_fmt_count(r, sizeof(r), (int64_t)(p->rate + 0.5));
    cli_fmt_eta(eta, sizeof(eta), p->eta);
    if (p->percent >= 0) {
        snprintf(pct, sizeof(pct), "%5.1f%%", p->percent);
    }
    else {
        snprintf(pct, sizeof(pct), "  ?  %%");
    }
    snprintf(buf, len, "job %s %-9s %s records  %s  %s rows/s  ETA %s  "
             "errors %s", p->job_id ? p->job_id : "?",
             p->status ? p->status : "?", n, pct, r, eta, e);
}

void cli_summary_add(cli_summary_t *s, const char *type, int64_t n)
{
    int i;

    for (i = 0; i < s->ntypes; ++i) {
        if (!strcmp(s->types[i], type)) {
            s->type_counts[i] += n;
            return;
        }
    }
    if (s->ntypes < 8) {
        s->types[s->ntypes] = type;
        s->type_counts[s->ntypes++] = n;
    }
}

const char *cli_action_name(cli_action_e action)
{
    static const char *const names[CLI_NACTIONS] = {
        "inserted", "updated", "unchanged", "deleted"
    };

    return action < CLI_NACTIONS ? names[action] : "?";
}

void cli_fmt_actions(char *buf, size_t len,
                     const int64_t counts[CLI_NACTIONS])
{
    char n[32];
    size_t k = 0;
    int a;

    buf[0] = '\0';
    for (a = 0; a < CLI_NACTIONS && k < len; ++a) {
        if (counts[a]) {
            cli_fmt_count(n, sizeof(n), counts[a]);
            k += (size_t)snprintf(buf + k, len - k, "%s%s %s", k ? ", " : "",
                                  n, cli_action_name((cli_action_e)a));
        }
    }
}

void cli_fmt_summary(char *buf, size_t len, const cli_summary_t *s)
{
    char tot[32], ok[32], bad[32], d[32], rate[32], part[64], acts[160];
    size_t k;
    int i;

    cli_fmt_count(tot, sizeof(tot), s->total);
    cli_fmt_count(ok, sizeof(ok), s->succeeded);
    cli_fmt_count(bad, sizeof(bad), s->failed);
    cli_fmt_duration(d, sizeof(d), s->duration);
    cli_fmt_count(rate, sizeof(rate), s->duration > 0
                  ? (int64_t)((double)s->total / s->duration + 0.5) : 0);
    acts[0] = '\0';
    if (s->has_actions) {
        cli_fmt_actions(acts, sizeof(acts), s->actions);
    }
    k = (size_t)snprintf(buf, len, "%s: %s records, %s succeeded%s%s%s, "
                         "%s failed", s->status, tot, ok, *acts ? " (" : "",
                         acts, *acts ? ")" : "", bad);
    if (s->ntypes && k < len) {
        k += (size_t)snprintf(buf + k, len - k, " (");
        for (i = 0; i < s->ntypes && k < len; ++i) {
            cli_fmt_count(part, sizeof(part), s->type_counts[i]);
            k += (size_t)snprintf(buf + k, len - k, "%s%s %s",
                                  i ? ", " : "", s->types[i], part);
        }
        if (k < len) {
            k += (size_t)snprintf(buf + k, len - k, ")");
        }
    }
    if (k < len) {
        k += (size_t)snprintf(buf + k, len - k, " in %s, %s rows/s", d, rate);
    }
    if (s->mode && strcmp(s->mode, "upsert") && k < len) {
        k += (size_t)snprintf(buf + k, len - k, "; mode %s", s->mode);
    }
    if (s->dry_run && k < len) {
        k += (size_t)snprintf(buf + k, len - k, "; dry run: nothing was "
                              "changed");
    }
    if (s->reason && k < len) {
        snprintf(buf + k, len - k, "; %s", s->reason);
    }
}

void cli_progress_init(cli_progress_t *pr, FILE *out, int tty, int quiet)
{
    memset(pr, 0, sizeof(*pr));
    pr->out = out;
    pr->tty = tty;
    pr->quiet = quiet;
    pr->interval = 5.0;
    pr->last = cli_now();    /* plain lines: the first after interval */
}

int cli_progress_show(cli_progress_t *pr, const char *line, double now,
                      int force)
{
    size_t n = strlen(line);

    if (pr->quiet) {
        return 0;
    }
    if (pr->tty) {
        /* redraw in place (cut to the terminal's width, or \r cannot
         * return to the line's start); blank out what a longer line left */
        if (pr->cols > 1 && n > pr->cols - 1) {
            n = pr->cols - 1;
        }
        fprintf(pr->out, "\r%.*s", (int)n, line);
        if (pr->width > n) {
            fprintf(pr->out, "%*s", (int)(pr->width - n), "");
        }
        pr->width = n;
        pr->dirty = 1;
        fflush(pr->out);
        return 1;
    }
    if (!force && now - pr->last < pr->interval) {
        return 0;
    }
    pr->last = now;
    fprintf(pr->out, "bulkio: %s\n", line);
    fflush(pr->out);
    return 1;
}

void cli_xfer_progress_init(cli_xfer_progress_t *xp, const char *what,
                            const char *name, double now)
{
    memset(xp, 0, sizeof(*xp));
    xp->what = what;
    xp->name = name;
    xp->started = now;
}

int cli_progress_xfer(cli_progress_t *pr, cli_xfer_progress_t *xp,
                      double done, double total, double now)
{
    char line[512];
    int last = total > 0 && done >= total;

    if (done <= 0 || (pr->tty && now - xp->last_draw < 0.1 && !last)) {
        return 0;
    }
    xp->last_draw = now;
    cli_fmt_transfer(line, sizeof(line), xp->what, xp->name, done, total,
                     now > xp->started ? done / (now - xp->started) : 0.0);
    return cli_progress_show(pr, line, now, 0);
}

void cli_progress_end(cli_progress_t *pr)
{
    if (pr->dirty) {
        fputc('\n', pr->out);
        fflush(pr->out);
        pr->dirty = 0;
        pr->width = 0;
    }
}

double cli_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
