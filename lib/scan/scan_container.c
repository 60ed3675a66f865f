/*
 * scan -t container (issue 14): the compose files and Dockerfiles /
 * Containerfiles of the deployment (scan.compose_files, scan.dockerfiles;
 * guide 004 runs podman-compose from /opt/rag-interface/deployment/podman),
 * and, when trivy is on PATH, its vulnerability report for each image.
 *
 * Compose files are read with the library's YAML reader (yaml.h), which
 * gives every node its line, resolves anchors and aliases and follows merge
 * keys ("<<: *base").  Not followed: compose's include:, extends: and variable
 * interpolation (an image "${IMAGE}" is not judged, an environment value
 * "${VAR}" is a reference, not a secret).  Dockerfiles are read line by
 * line with continuations; heredocs (RUN <<EOF) are not understood, so a
 * line inside one that looks like an instruction is read as one.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#include "scan/scan_internal.h"
#include "opsmaint/fileio.h"
#include "opsmaint/proc.h"
#include "opsmaint/yaml.h"

/* A compose file or Dockerfile larger than this is not a real one. */
#define CT_FILE_MAX (4L << 20)
/* Directories below a configured one that are searched for the files. */
#define CT_DEPTH_MAX 4

static const char *const compose_names[] = {
	"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml",
	"podman-compose.yml", "podman-compose.yaml", NULL
};
static const char *const dockerfile_names[] = {"Dockerfile", "Containerfile", "*.dockerfile", NULL};

/* Ports of the data stores a RAG deployment runs, by container port. */
static const struct { int port; const char *what; } store_ports[] = {
	{5432, "PostgreSQL"}, {6379, "Redis"}, {3306, "MySQL"}, {27017, "MongoDB"},
	{9200, "Elasticsearch"}, {6333, "Qdrant"}, {19530, "Milvus"}, {11211, "Memcached"},
};

typedef struct ct {
	scan_ctx *s;
	ops_error *err;
	char **images;		/* every image met, once: what trivy is asked about */
	size_t n_images;
	int files;		/* compose files and Dockerfiles checked */
} ct;

static ops_code report(ct *c, const char *rule, const char *target, const char *file, long line,
		       const char *evidence, const char *fp_extra)
{
	scan_finding f = {0};

	f.rule = rule;
	f.use_rule_severity = 1;
	f.target = target;
	f.file = file;
	f.line = line;
	f.evidence = evidence;
	f.fp_extra = fp_extra;
	return scan_add(c->s, &f, c->err);
}

static ops_code remember_image(ct *c, const char *image)
{
	char **grown, *copy;
	size_t i;

	for (i = 0; i < c->n_images; i++)
		if (strcmp(c->images[i], image) == 0)
			return OPS_OK;
	if (!(copy = strdup(image)) ||
	    !(grown = realloc(c->images, (c->n_images + 2) * sizeof *grown))) {
		free(copy);
		return ops_error_oom(c->err);
	}
	c->images = grown;
	c->images[c->n_images++] = copy;
	c->images[c->n_images] = NULL;
	return OPS_OK;
}

/* ---- what counts as a secret, an image reference, a root user ---- */

/* "${VAR}", "$VAR", "${VAR:-x}": filled in at deploy time, not a secret in the file. */
static int is_reference(const char *v)
{
	return v[0] == '$';
}

/* A URL with a password in it: "postgresql://app:s3cret@db/chatbot". */
static int url_password(const char *v, const char **pw, size_t *pw_len)
{
	const char *scheme = strstr(v, "://"), *at, *colon;

	if (!scheme)
		return 0;
	scheme += 3;
	at = strchr(scheme, '@');
	colon = strchr(scheme, ':');
	if (!at || !colon || colon > at || colon + 1 == at || colon[1] == '$' ||
	    memchr(scheme, '/', (size_t)(at - scheme)))
		return 0;
	*pw = colon + 1;
	*pw_len = (size_t)(at - colon - 1);
	return 1;
}

/*
 * A secret in an environment entry or ENV/ARG: a value given in the file
 * (not a reference) under a name that says secret, or a URL with its
 * password.  ev gets "NAME=<redacted>".
 */
static int secret_value(const char *name, size_t name_len, const char *value, char *ev, size_t ev_size)
{
	char red[96];
	const char *pw;
	size_t pw_len;

	if (!*value || is_reference(value))
		return 0;
	if (url_password(value, &pw, &pw_len)) {
		scan_redact(pw, pw_len, red, sizeof red);
		snprintf(ev, ev_size, "%.*s=%.*s%s%s", (int)name_len, name, (int)(pw - value), value,
			 red, pw + pw_len);
		/* the rest of a URL may be long; what matters is the name and the password */
		return 1;
	}
	/* POSTGRES_PASSWORD_FILE=/run/secrets/db: where the secret is, not the secret */
	if (!ops_proc_secret_name(name, name_len) || value[0] == '/' ||
	    (name_len > 5 && strncasecmp(name + name_len - 5, "_FILE", 5) == 0))
		return 0;
	scan_redact(value, strlen(value), red, sizeof red);
	snprintf(ev, ev_size, "%.*s=%s", (int)name_len, name, red);
	return 1;
}

typedef enum { IMG_OK, IMG_LATEST, IMG_UNPINNED, IMG_UNKNOWN } img_state;

/* "postgres" and "postgres:latest": latest; "postgres:16": no digest. */
static img_state image_state(const char *image)
{
	const char *slash, *colon;

	if (strchr(image, '$'))
		return IMG_UNKNOWN;
	if (strchr(image, '@'))
		return IMG_OK;
	slash = strrchr(image, '/');
	colon = strrchr(image, ':');
	if (!colon || (slash && colon < slash))
		return IMG_LATEST;
	return strcmp(colon + 1, "latest") == 0 ? IMG_LATEST : IMG_UNPINNED;
}

static ops_code check_image(ct *c, const char *image, const char *target, const char *file, long line)
{
	char ev[512];
	img_state st = image_state(image);
	ops_code rc;

	if (st == IMG_UNKNOWN || strcmp(image, "scratch") == 0)
		return OPS_OK;
	if ((rc = remember_image(c, image)) != OPS_OK)
		return rc;
	snprintf(ev, sizeof ev, "image %s", image);
	if (st == IMG_LATEST)
		return report(c, "container.image.latest", target, file, line, ev, image);
	if (st == IMG_UNPINNED)
		return report(c, "container.image.unpinned", target, file, line, ev, image);
	return OPS_OK;
}

/* root, 0, root:x, 0:x */
static int is_root_user(const char *u)
{
	size_t n = strcspn(u, ":");

	return (n == 4 && strncmp(u, "root", 4) == 0) || (n == 1 && u[0] == '0');
}

/* ---- compose ---- */

typedef struct yfile {
	ct *c;
	const ops_yaml *doc;
	const char *file;
	char target[320];	/* "compose.yaml service api" */
} yfile;

static const ops_yaml_node *yget(yfile *y, const ops_yaml_node *m, const char *key)
{
	return ops_yaml_get(y->doc, m, key);
}

static ops_code compose_env_entry(yfile *y, const char *name, size_t name_len, const char *value,
				  long line)
{
	char ev[256], fp[160];

	if (!secret_value(name, name_len, value, ev, sizeof ev))
		return OPS_OK;
	snprintf(fp, sizeof fp, "env %.*s", (int)name_len, name);
	return report(y->c, "container.secret.environment", y->target, y->file, line, ev, fp);
}

static ops_code compose_environment(yfile *y, const ops_yaml_node *env)
{
	ops_code rc = OPS_OK;
	size_t i;

	for (i = 0; rc == OPS_OK && i < ops_yaml_len(env); i++) {
		const ops_yaml_node *k, *v;
		const char *name, *value, *eq;

		if (ops_yaml_pair(y->doc, env, i, &k, &v) == 0) {
			name = ops_yaml_scalar(k);
			value = ops_yaml_scalar(v);
			if (name && value && !ops_yaml_null(v))
				rc = compose_env_entry(y, name, strlen(name), value, ops_yaml_line(k));
			continue;
		}
		v = ops_yaml_item(y->doc, env, i);
		value = ops_yaml_scalar(v);
		if (value && (eq = strchr(value, '=')))
			rc = compose_env_entry(y, value, (size_t)(eq - value), eq + 1, ops_yaml_line(v));
	}
	return rc;
}

static const char *store_of(long port)
{
	size_t i;

	for (i = 0; i < sizeof store_ports / sizeof store_ports[0]; i++)
		if (store_ports[i].port == port)
			return store_ports[i].what;
	return NULL;
}

static int all_addresses(const char *ip, size_t len)
{
	return len == 0 || (len == 7 && strncmp(ip, "0.0.0.0", 7) == 0) ||
	       (len == 2 && strncmp(ip, "::", 2) == 0);
}

static ops_code port_published(yfile *y, const char *store, const char *spec, long line)
{
	char ev[256];

	snprintf(ev, sizeof ev, "ports: \"%s\" publishes %s on every address of the host", spec, store);
	return report(y->c, "container.compose.store-port-public", y->target, y->file, line, ev, spec);
}

/*
 * Short syntax: [[IP:]HOST:]CONTAINER[/PROTO], IP maybe "[v6]"; a bare
 * CONTAINER publishes on a random port of every address.
 */
static ops_code compose_port_short(yfile *y, const char *spec, long line)
{
	char buf[128], *parts[3], *p, *ip = "", *slash;
	size_t n = 0;
	long port;
	const char *store;

	snprintf(buf, sizeof buf, "%s", spec);
	if ((slash = strchr(buf, '/')))
		*slash = '\0';
	p = buf;
	if (*p == '[') {
		char *close = strchr(p, ']');

		if (!close || close[1] != ':')
			return OPS_OK;
		*close = '\0';
		ip = p + 1;
		p = close + 2;
	}
	for (;;) {
		char *colon = strchr(p, ':');

		if (n == 3)
			return OPS_OK;
		parts[n++] = p;
		if (!colon)
			break;
		*colon = '\0';
		p = colon + 1;
	}
	if (n == 3) {
		if (*ip)
			return OPS_OK;
		ip = parts[0];
	}
	/* a range "5432-5433" is judged by its first port */
	port = strtol(parts[n - 1], NULL, 10);
	if (!(store = store_of(port)) || !all_addresses(ip, strlen(ip)))
		return OPS_OK;
	return port_published(y, store, spec, line);
}

static ops_code compose_ports(yfile *y, const ops_yaml_node *ports)
{
	ops_code rc = OPS_OK;
	size_t i;

	if (ops_yaml_type_of(ports) != OPS_YAML_SEQUENCE)
		return OPS_OK;
	for (i = 0; rc == OPS_OK && i < ops_yaml_len(ports); i++) {
		const ops_yaml_node *n = ops_yaml_item(y->doc, ports, i);
		const char *spec = ops_yaml_scalar(n), *target, *ip;
		char text[128];

		if (spec) {
			rc = compose_port_short(y, spec, ops_yaml_line(n));
			continue;
		}
		target = ops_yaml_scalar(yget(y, n, "target"));
		ip = ops_yaml_scalar(yget(y, n, "host_ip"));
		if (!target || !store_of(strtol(target, NULL, 10)) || (ip && !all_addresses(ip, strlen(ip))))
			continue;
		snprintf(text, sizeof text, "%s%s%s:%s", ip ? ip : "", ip ? ":" : "",
			 ops_yaml_scalar(yget(y, n, "published")) ? ops_yaml_scalar(yget(y, n, "published")) : "",
			 target);
		rc = port_published(y, store_of(strtol(target, NULL, 10)), text, ops_yaml_line(n));
	}
	return rc;
}

static int is_engine_socket(const char *src, size_t len)
{
	static const char *const sockets[] = {"docker.sock", "podman.sock", "containerd.sock", NULL};
	size_t i, n;

	for (i = 0; sockets[i]; i++) {
		n = strlen(sockets[i]);
		if (len >= n && strncmp(src + len - n, sockets[i], n) == 0)
			return 1;
	}
	return 0;
}

static ops_code compose_volumes(yfile *y, const ops_yaml_node *vols)
{
	ops_code rc = OPS_OK;
	size_t i;

	if (ops_yaml_type_of(vols) != OPS_YAML_SEQUENCE)
		return OPS_OK;
	for (i = 0; rc == OPS_OK && i < ops_yaml_len(vols); i++) {
		const ops_yaml_node *n = ops_yaml_item(y->doc, vols, i);
		const char *v = ops_yaml_scalar(n), *src = v;
		size_t len;
		char ev[320];

		if (!v)
			src = ops_yaml_scalar(yget(y, n, "source"));
		if (!src)
			continue;
		len = v ? strcspn(src, ":") : strlen(src);
		if (!is_engine_socket(src, len))
			continue;
		snprintf(ev, sizeof ev, "volumes: %.*s mounted", (int)len, src);
		rc = report(y->c, "container.compose.socket-mount", y->target, y->file, ops_yaml_line(n), ev, src);
	}
	return rc;
}

static int has_limits(yfile *y, const ops_yaml_node *svc)
{
	const ops_yaml_node *lim = yget(y, yget(y, yget(y, svc, "deploy"), "resources"), "limits");

	return (ops_yaml_type_of(lim) == OPS_YAML_MAPPING && ops_yaml_len(lim) > 0) ||
	       yget(y, svc, "mem_limit") || yget(y, svc, "cpus") || yget(y, svc, "memory");
}

static ops_code compose_service(yfile *y, const char *name, const ops_yaml_node *key,
			       const ops_yaml_node *svc)
{
	ct *c = y->c;
	const ops_yaml_node *n;
	const char *v;
	char ev[320];
	ops_code rc;

	snprintf(y->target, sizeof y->target, "%s service %s", y->file, name);
	if ((v = ops_yaml_scalar(n = yget(y, svc, "image"))) &&
	    (rc = check_image(c, v, y->target, y->file, ops_yaml_line(n))) != OPS_OK)
		return rc;
	if (ops_yaml_true(n = yget(y, svc, "privileged")) &&
	    (rc = report(c, "container.compose.privileged", y->target, y->file, ops_yaml_line(n),
			 "privileged: true", NULL)) != OPS_OK)
		return rc;
	n = yget(y, svc, "user");
	v = ops_yaml_scalar(n);
	if (!v || !*v || is_root_user(v)) {
		snprintf(ev, sizeof ev, v && *v ? "user: %s" : "no user: (the image's, root unless it sets USER)",
			 v ? v : "");
		if ((rc = report(c, "container.user.root", y->target, y->file, n ? ops_yaml_line(n) : ops_yaml_line(key),
				 ev, NULL)) != OPS_OK)
			return rc;
	}
	if ((v = ops_yaml_scalar(n = yget(y, svc, "network_mode"))) && strcmp(v, "host") == 0 &&
	    (rc = report(c, "container.compose.host-network", y->target, y->file, ops_yaml_line(n),
			 "network_mode: host", NULL)) != OPS_OK)
		return rc;
	if ((rc = compose_volumes(y, yget(y, svc, "volumes"))) != OPS_OK ||
	    (rc = compose_environment(y, yget(y, svc, "environment"))) != OPS_OK ||
	    (rc = compose_ports(y, yget(y, svc, "ports"))) != OPS_OK)
		return rc;
	n = yget(y, svc, "healthcheck");
	if ((!n || ops_yaml_true(yget(y, n, "disable"))) &&
	    (rc = report(c, "container.compose.no-healthcheck", y->target, y->file, n ? ops_yaml_line(n) : ops_yaml_line(key),
			 n ? "healthcheck: disable: true" : "no healthcheck:", NULL)) != OPS_OK)
		return rc;
	if (!has_limits(y, svc) &&
	    (rc = report(c, "container.compose.no-limits", y->target, y->file, ops_yaml_line(key),
			 "no deploy.resources.limits, mem_limit or cpus", NULL)) != OPS_OK)
		return rc;
	return OPS_OK;
}

static ops_code unreadable(ct *c, const char *file, const char *why_text)
{
	ops_error why = {0};

	ops_error_set(&why, OPS_EFAIL, "%s", why_text);
	return scan_unreachable(c->s, "container", file, &why, c->err);
}

static ops_code check_compose(ct *c, const char *file)
{
	ops_yaml *doc = NULL;
	yfile y = {.c = c, .file = file};
	const ops_yaml_node *root, *services, *k, *v;
	ops_error rerr = {0};
	ops_code rc = OPS_OK;
	size_t i;

	if ((rc = ops_yaml_load_file(file, CT_FILE_MAX, &doc, &rerr)) != OPS_OK)
		return rc == OPS_EINTERNAL ? ops_error_oom(c->err)
					   : scan_unreachable(c->s, "container", file, &rerr, c->err);
	y.doc = doc;
	c->files++;
	root = ops_yaml_root(doc);
	services = yget(&y, root, "services");
	if (ops_yaml_type_of(services) == OPS_YAML_MAPPING) {
		for (i = 0; rc == OPS_OK && ops_yaml_pair(doc, services, i, &k, &v) == 0; i++)
			if (ops_yaml_scalar(k) && ops_yaml_type_of(v) == OPS_YAML_MAPPING)
				rc = compose_service(&y, ops_yaml_scalar(k), k, v);
	} else if (root) {
		rc = unreadable(c, file, "no services: mapping (not a compose file)");
	}
	ops_yaml_free(doc);
	return rc;
}

/* ---- Dockerfile ---- */

/* The words of an instruction's arguments, with "NAME=VALUE" pairs: ENV and ARG. */
static ops_code dockerfile_env(ct *c, const char *file, const char *target, long line, const char *args,
			       int legacy_ok)
{
	char ev[256], fp[160], word[1024];
	const char *p = args;
	ops_code rc;

	/* ENV NAME VALUE (the old form: one variable, the rest is its value) */
	if (legacy_ok) {
		size_t n = strcspn(p, " \t=");

		if (p[n] == ' ' || p[n] == '\t') {
			const char *val = p + n + strspn(p + n, " \t");

			snprintf(word, sizeof word, "%s", val);
			word[strcspn(word, "\r\n")] = '\0';
			if (!secret_value(p, n, word, ev, sizeof ev))
				return OPS_OK;
			snprintf(fp, sizeof fp, "env %.*s", (int)n, p);
			return report(c, "container.secret.environment", target, file, line, ev, fp);
		}
	}
	while (*p) {
		size_t n, i = 0;
		const char *eq;
		char q = 0;

		p += strspn(p, " \t");
		if (!*p)
			break;
		/* one word, quotes kept out of the value */
		while (*p && (q || (*p != ' ' && *p != '\t')) && i + 1 < sizeof word) {
			if (!q && (*p == '"' || *p == '\'')) {
				q = *p++;
				continue;
			}
			if (q && *p == q) {
				q = 0;
				p++;
				continue;
			}
			if (*p == '\\' && p[1])
				p++;
			word[i++] = *p++;
		}
		word[i] = '\0';
		if (!(eq = strchr(word, '=')))
			continue;
		n = (size_t)(eq - word);
		if (!secret_value(word, n, eq + 1, ev, sizeof ev))
			continue;
		snprintf(fp, sizeof fp, "env %.*s", (int)n, word);
		if ((rc = report(c, "container.secret.environment", target, file, line, ev, fp)) != OPS_OK)
			return rc;
	}
	return OPS_OK;
}

/* ADD's sources (every word but the last, options skipped) that are URLs. */
static ops_code dockerfile_add(ct *c, const char *file, const char *target, long line, const char *args)
{
	char buf[1024], *save = NULL, *w, *words[64], ev[600];
	size_t n = 0, i;
	ops_code rc;

	snprintf(buf, sizeof buf, "%s", args);
	for (w = strtok_r(buf, " \t", &save); w && n < 64; w = strtok_r(NULL, " \t", &save))
		if (strncmp(w, "--", 2) != 0)
			words[n++] = w;
	for (i = 0; i + 1 < n; i++) {
		if (strncasecmp(words[i], "http://", 7) != 0 && strncasecmp(words[i], "https://", 8) != 0)
			continue;
		snprintf(ev, sizeof ev, "ADD %s", words[i]);
		if ((rc = report(c, "container.dockerfile.add-url", target, file, line, ev, words[i])) != OPS_OK)
			return rc;
	}
	return OPS_OK;
}

/* A named build stage ("FROM x AS build") and the USER it ended with, which
 * a later "FROM build" inherits. */
typedef struct stage {
	char *name;
	char user[128];
	long user_line;
} stage;

static stage *find_stage(stage *stages, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(stages[i].name, name) == 0)
			return &stages[i];
	return NULL;
}

static ops_code check_dockerfile(ct *c, const char *file)
{
	ops_error rerr = {0};
	char *text = NULL, *p, *next, *line = NULL, target[320];
	char user[128] = "";
	stage stages[32], *cur = NULL, *base;
	size_t len, n_stages = 0, cap = 0, i;
	long lineno = 0, start = 0, user_line = 0, from_line = 0;
	ops_code rc = OPS_OK;

	if (ops_read_file(file, CT_FILE_MAX, &text, &len, &rerr) != OPS_OK)
		return scan_unreachable(c->s, "container", file, &rerr, c->err);
	c->files++;
	snprintf(target, sizeof target, "%s", file);
	for (p = text; rc == OPS_OK && p && *p; p = next) {
		size_t ll, used = line ? strlen(line) : 0;
		char *instr, *args;
		int cont;

		next = strchr(p, '\n');
		ll = next ? (size_t)(next - p) : strlen(p);
		if (next)
			next++;
		lineno++;
		if (ll && p[ll - 1] == '\r')
			ll--;
		if (!used) {
			size_t sp = strspn(p, " \t");

			if (sp >= ll || p[sp] == '#')
				continue;
			start = lineno;
		} else if (p[strspn(p, " \t")] == '#') {
			continue;	/* a comment inside a continued instruction */
		}
		cont = ll && p[ll - 1] == '\\';
		if (cont)
			ll--;
		if (used + ll + 2 > cap) {
			char *grown = realloc(line, cap = used + ll + 256);

			if (!grown) {
				rc = ops_error_oom(c->err);
				break;
			}
			if (!line)
				grown[0] = '\0';
			line = grown;
		}
		strncat(line, p, ll);
		if (cont && next)
			continue;
		instr = line + strspn(line, " \t");
		args = instr + strcspn(instr, " \t");
		if (*args)
			*args++ = '\0';
		args += strspn(args, " \t");
		if (strcasecmp(instr, "FROM") == 0) {
			char buf[512], *save = NULL, *w, *image = NULL, *as = NULL;

			snprintf(buf, sizeof buf, "%s", args);
			for (w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
				if (strncmp(w, "--", 2) == 0 && !image)
					continue;
				if (!image)
					image = w;
				else if (strcasecmp(w, "AS") == 0)
					as = strtok_r(NULL, " \t", &save);
			}
			if (cur) {
				snprintf(cur->user, sizeof cur->user, "%s", user);
				cur->user_line = user_line;
			}
			user[0] = '\0';
			user_line = 0;
			from_line = start;
			cur = NULL;
			if (image && (base = find_stage(stages, n_stages, image))) {
				snprintf(user, sizeof user, "%s", base->user);
				user_line = base->user_line;
			} else if (image) {
				rc = check_image(c, image, target, file, start);
			}
			if (as && n_stages < sizeof stages / sizeof stages[0]) {
				if (!(stages[n_stages].name = strdup(as)))
					rc = ops_error_oom(c->err);
				else
					cur = &stages[n_stages++];
			}
		} else if (strcasecmp(instr, "USER") == 0) {
			snprintf(user, sizeof user, "%s", args);
			user[strcspn(user, " \t")] = '\0';
			user_line = start;
		} else if (strcasecmp(instr, "ENV") == 0) {
			rc = dockerfile_env(c, file, target, start, args, 1);
		} else if (strcasecmp(instr, "ARG") == 0) {
			rc = dockerfile_env(c, file, target, start, args, 0);
		} else if (strcasecmp(instr, "ADD") == 0) {
			rc = dockerfile_add(c, file, target, start, args);
		}
		line[0] = '\0';
	}
	/* the final stage is what runs: its last USER decides */
	if (rc == OPS_OK && from_line && (!user[0] || is_root_user(user))) {
		char ev[200];

		snprintf(ev, sizeof ev, user[0] ? "USER %s" : "no USER after the last FROM (runs as root)", user);
		rc = report(c, "container.user.root", target, file, user[0] ? user_line : from_line, ev, NULL);
	}
	for (i = 0; i < n_stages; i++)
		free(stages[i].name);
	free(line);
	free(text);
	return rc;
}

/* ---- finding the files ---- */

static int name_matches(const char *name, const char *const *pats)
{
	size_t i;

	for (i = 0; pats[i]; i++)
		if (fnmatch(pats[i], name, 0) == 0)
			return 1;
	return 0;
}

typedef ops_code (*check_fn)(ct *c, const char *file);

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* dir and its subdirectories (not links, not .git, node_modules or virtualenvs). */
static ops_code search_dir(ct *c, const char *dir, int depth, const char *const *pats, check_fn fn)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;
	ops_code rc = OPS_OK;

	if (!d) {
		scan_count_unreadable(c->s, dir);
		return OPS_OK;
	}
	/* sorted, so that findings come in the same order on every machine */
	while ((de = readdir(d))) {
		char **grown;

		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' || strcmp(de->d_name, "..") == 0 ||
					     strcmp(de->d_name, ".git") == 0 || strcmp(de->d_name, ".venv") == 0))
			continue;
		if (strcmp(de->d_name, "node_modules") == 0 || strcmp(de->d_name, "venv") == 0)
			continue;
		if (!(grown = realloc(names, (n + 1) * sizeof *names)) || !(grown[n] = strdup(de->d_name))) {
			if (grown)
				names = grown;
			rc = ops_error_oom(c->err);
			break;
		}
		names = grown;
		n++;
	}
	closedir(d);
	if (rc == OPS_OK && n > 1)
		qsort(names, n, sizeof *names, cmp_names);
	for (i = 0; i < n; i++) {
		struct stat st;
		char *path = NULL;

		if (rc == OPS_OK && !(path = strcmp(dir, ".") == 0 ? strdup(names[i]) : ops_path_join(dir, names[i])))
			rc = ops_error_oom(c->err);
		if (rc == OPS_OK && lstat(path, &st) == 0) {
			if (S_ISDIR(st.st_mode) && depth < CT_DEPTH_MAX)
				rc = search_dir(c, path, depth + 1, pats, fn);
			else if (S_ISREG(st.st_mode) && name_matches(names[i], pats))
				rc = fn(c, path);
		}
		free(path);
		free(names[i]);
	}
	free(names);
	return rc;
}

/* Each configured path: a file is checked, a directory searched; none: roots. */
static ops_code check_paths(ct *c, const char *key, const char *const *pats, check_fn fn)
{
	const ops_config *cfg = scan_cfg(c->s);
	char **paths = ops_config_list(cfg, key), **roots = NULL, cwd[4096];
	ops_code rc = OPS_OK;
	size_t i, cwd_len;

	if (!paths)
		return ops_error_oom(c->err);
	if (!paths[0]) {
		const char *code = ops_config_get(cfg, "scan.code_paths");

		roots = ops_split_list(code && *code ? code : ".");
		if (!roots) {
			ops_strv_free(paths);
			return ops_error_oom(c->err);
		}
	}
	if (!getcwd(cwd, sizeof cwd))
		cwd[0] = '\0';
	cwd_len = strlen(cwd);
	for (i = 0; rc == OPS_OK && (roots ? roots[i] : paths[i]); i++) {
		const char *path = roots ? roots[i] : paths[i];
		struct stat st;

		/* under the current directory: named relative to it, as SARIF's uri wants */
		if (cwd_len > 1 && strncmp(path, cwd, cwd_len) == 0 && path[cwd_len] == '/' && path[cwd_len + 1])
			path += cwd_len + 1;

		if (stat(path, &st) != 0) {
			ops_error why = {0};

			ops_error_set(&why, OPS_EFAIL, "%s", strerror(errno));
			rc = scan_unreachable(c->s, "container", path, &why, c->err);
		} else if (S_ISDIR(st.st_mode)) {
			rc = search_dir(c, path, 0, pats, fn);
		} else {
			rc = fn(c, path);
		}
	}
	ops_strv_free(paths);
	ops_strv_free(roots);
	return rc;
}

/* ---- trivy ---- */

static ops_severity trivy_severity(const char *s)
{
	if (!s)
		return OPS_SEV_INFO;
	if (strcmp(s, "CRITICAL") == 0)
		return OPS_SEV_CRITICAL;
	if (strcmp(s, "HIGH") == 0)
		return OPS_SEV_HIGH;
	if (strcmp(s, "MEDIUM") == 0)
		return OPS_SEV_MEDIUM;
	if (strcmp(s, "LOW") == 0)
		return OPS_SEV_LOW;
	return OPS_SEV_INFO;	/* UNKNOWN */
}

/* Trivy's JSON report (SchemaVersion 2): Results[].Vulnerabilities[]. */
static ops_code merge_trivy(ct *c, const char *path, const char *image)
{
	ops_error rerr = {0};
	char *text = NULL, target[320], ev[512], fp[256];
	size_t len;
	cJSON *doc, *res, *v;
	const char *artifact;
	ops_code rc = OPS_OK;

	if (ops_read_file(path, 256L << 20, &text, &len, &rerr) != OPS_OK)
		return scan_unreachable(c->s, "container", path, &rerr, c->err);
	doc = cJSON_ParseWithLength(text, len);
	free(text);
	if (!doc || !cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		ops_error_set(&rerr, OPS_EFAIL, "not trivy's JSON report");
		return scan_unreachable(c->s, "container", path, &rerr, c->err);
	}
	artifact = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "ArtifactName"));
	/* the image asked about; a report made elsewhere names its own */
	snprintf(target, sizeof target, "image %s", image ? image : artifact ? artifact : path);
	cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(doc, "Results")) {
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(res, "Vulnerabilities")) {
			const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "VulnerabilityID"));
			const char *pkg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "PkgName"));
			const char *ver = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "InstalledVersion"));
			const char *fix = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "FixedVersion"));
			const char *sev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "Severity"));
			scan_finding f = {0};

			if (!id || !pkg)
				continue;
			snprintf(ev, sizeof ev, "%s in %s %s%s%s%s", id, pkg, ver ? ver : "",
				 fix && *fix ? " (fixed in " : " (no fix yet", fix && *fix ? fix : "", ")");
			snprintf(fp, sizeof fp, "%s %s", id, pkg);
			f.rule = "container.trivy";
			f.severity = trivy_severity(sev);
			f.target = target;
			f.evidence = ev;
			f.fp_extra = fp;
			if ((rc = scan_add(c->s, &f, c->err)) != OPS_OK)
				goto out;
		}
	}
out:
	cJSON_Delete(doc);
	return rc;
}

static int on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	int found = 0;

	if (!path || !(copy = strdup(path)))
		return 0;
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char *full = ops_path_join(*dir ? dir : ".", prog);

		found = full && access(full, X_OK) == 0;
		free(full);
	}
	free(copy);
	return found;
}

static ops_code run_trivy(ct *c, const char *image)
{
	long timeout = ops_config_int(scan_cfg(c->s), "scan.trivy_timeout");
	char tmp[] = "/tmp/opsctl-trivy.XXXXXX", tsec[32];
	char *argv[] = {"trivy", "image", "--quiet", "--format", "json", "--timeout", tsec,
			"--output", tmp, (char *)image, NULL};
	ops_proc *p = NULL;
	ops_error why = {0};
	char what[320], *keep[64], **e;
	size_t n_keep = 0;
	ops_code rc;
	int fd;

	if ((fd = mkstemp(tmp)) < 0)
		return ops_error_set(c->err, OPS_EIO, "cannot create a temporary file for trivy: %s",
				     strerror(errno));
	close(fd);
	snprintf(tsec, sizeof tsec, "%lds", timeout);
	snprintf(what, sizeof what, "trivy image %s", image);
	/* trivy needs none of opsctl's credentials, only its own (TRIVY_PASSWORD
	 * for a private registry), which NO_SECRETS would drop */
	for (e = environ; *e && n_keep + 1 < sizeof keep / sizeof keep[0]; e++)
		if (strncmp(*e, "TRIVY_", 6) == 0)
			keep[n_keep++] = *e;
	keep[n_keep] = NULL;
	if (ops_proc_start(NULL, argv, keep, OPS_PROC_NO_SECRETS | OPS_PROC_OWN_GROUP, NULL, NULL, &p,
			   &why) == OPS_OK &&
	    ops_proc_wait_timeout(p, (timeout + 5) * 1000L, &why) == OPS_OK)
		rc = merge_trivy(c, tmp, image);
	else
		rc = scan_unreachable(c->s, "container", what, &why, c->err);
	unlink(tmp);
	return rc;
}

static ops_code trivy(ct *c)
{
	char **files = ops_config_list(scan_cfg(c->s), "scan.trivy_json");
	ops_code rc = OPS_OK;
	size_t i;

	if (!files)
		return ops_error_oom(c->err);
	if (files[0]) {
		for (i = 0; rc == OPS_OK && files[i]; i++)
			rc = merge_trivy(c, files[i], NULL);
	} else if (on_path("trivy")) {
		for (i = 0; rc == OPS_OK && i < c->n_images; i++) {
			if ((rc = ops_run_check_cancel(scan_run(c->s), c->err)) == OPS_OK)
				rc = run_trivy(c, c->images[i]);
		}
	}
	ops_strv_free(files);
	return rc;
}

ops_code scan_container(scan_ctx *s, ops_error *err)
{
	ct c = {.s = s, .err = err};
	ops_code rc;
	size_t i;

	if ((rc = check_paths(&c, "scan.compose_files", compose_names, check_compose)) == OPS_OK &&
	    (rc = check_paths(&c, "scan.dockerfiles", dockerfile_names, check_dockerfile)) == OPS_OK) {
		if (!c.files)
			rc = report(&c, "container.none", "compose files and Dockerfiles", NULL, 0,
				    "none found in scan.compose_files, scan.dockerfiles or their default places",
				    NULL);
		if (rc == OPS_OK)
			rc = trivy(&c);
	}
	for (i = 0; i < c.n_images; i++)
		free(c.images[i]);
	free(c.images);
	return rc;
}
