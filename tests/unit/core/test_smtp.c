/*
 * core/smtp.  What needs no server always runs (the options it refuses, a
 * closed port, plain SMTP off the loopback interface).  The rest runs
 * against tests/lib/smtp_peer.py when tests/integration/t700-alerts-email.sh
 * exports its URLs (OPSCTL_TEST_SMTP_STARTTLS, ..._SMTPS, ..._PLAIN, the
 * mail directory, the password and the test CA); the plain unit run skips
 * them.
 */
#include <dirent.h>
#include <stdio.h>

#include "unit.h"
#include "opsmaint/smtp.h"

static const char *starttls, *smtps, *plain, *expired, *otherhost, *ca_file, *mail_dir;
/* The peer's password (t700 exports it); the no-server cases need none. */
static const char *password = "s3cret-Pa55";
static char *const one_to[] = {"ops@example.org", NULL};

static void opts(ops_smtp_opts *o, const char *url)
{
	memset(o, 0, sizeof *o);
	o->url = url;
	o->from = "opsctl@host.example";
	o->to = one_to;
	o->timeout = 5;
	o->ca_file = ca_file;
	o->user = "alerts";
	o->password = password;
}

/* The number of messages the peer has stored. */
static int stored(void)
{
	DIR *d = mail_dir ? opendir(mail_dir) : NULL;
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "mail-", 5) == 0)
			n++;
	closedir(d);
	return n;
}

/* The peer's switches (smtp_peer.py reads MAIL_DIR/control.json at each command). */
static void control(const char *json)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/control.json", mail_dir);
	f = fopen(path, "w");
	if (f) {
		fputs(json, f);
		fclose(f);
	}
}

static const char refuse_nobody[] =
	"{\"refuse_rcpt\": {\"nobody@example.org\": \"550 5.1.1 <nobody@example.org>: user unknown\"}}";

/* ---- no server ---- */

TEST(bad_options_are_configuration_errors)
{
	char *const bad_to[] = {"ops@example.org", "not an address", NULL};
	char *const none[] = {NULL};
	ops_smtp_result r;
	ops_smtp_opts o;
	ops_error err;

	opts(&o, "http://127.0.0.1:1");
	CHECK_INT(ops_smtp_send(&o, "s", "b", &r, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "smtp://HOST");
	opts(&o, "smtp://alerts:s3cret-Pa55@127.0.0.1:1");
	CHECK_INT(ops_smtp_send(&o, "s", "b", &r, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "must not carry a user or password");
	CHECK(strstr(err.message, "s3cret") == NULL);
	opts(&o, "smtp://127.0.0.1:1");
	o.from = "opsctl";
	CHECK_INT(ops_smtp_send(&o, "s", "b", &r, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "sender 'opsctl'");
	opts(&o, "smtp://127.0.0.1:1");
	o.to = bad_to;
	CHECK_INT(ops_smtp_send(&o, "s", "b", &r, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "recipient 'not an address'");
	o.to = none;
	CHECK_INT(ops_smtp_send(&o, "s", "b", &r, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "no recipient");
	opts(&o, "smtp://127.0.0.1:1");
	o.user = NULL;
	CHECK_INT(ops_smtp_send(&o, "s", "b", &r, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "password without a user");
	CHECK_INT(r.code, 0);
}

TEST(a_closed_port_is_connection_refused)
{
	ops_smtp_result r;
	ops_smtp_opts o;
	ops_error err;

	opts(&o, "smtp://127.0.0.1:1");
	CHECK_INT(ops_smtp_send(&o, "s", "b", &r, &err), OPS_EUNAVAIL);
	CHECK_CONTAINS(err.message, "SMTP 127.0.0.1:1: cannot connect: connection refused");
	CHECK(strstr(err.message, "s3cret") == NULL);
}

TEST(plain_smtp_only_to_loopback)
{
	ops_smtp_result r;
	ops_smtp_opts o;
	ops_error err;

	/* 192.0.2.1 (TEST-NET-1) is never reached: refused before connecting. */
	opts(&o, "smtp://192.0.2.1:25");
	o.tls = OPS_SMTP_TLS_NONE;
	CHECK_INT(ops_smtp_send(&o, "s", "b", &r, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "plain SMTP only to a loopback address");
}

/* ---- against tests/lib/smtp_peer.py (t700) ---- */

TEST(starttls_auth_delivers_with_the_250)
{
	char *const two[] = {"ops@example.org", "oncall@example.org", NULL};
	ops_smtp_result r;
	ops_smtp_opts o;
	ops_error err;
	int before = stored();

	opts(&o, starttls);
	o.to = two;
	o.helo = "opsctl.test";
	CHECK_INT(ops_smtp_send(&o, "[opsctl] caf\xc3\xa9 \xe2\x9c\x93 alert", "line 1\n.\nline 3\n",
				&r, &err), OPS_OK);
	CHECK_INT(r.code, 250);
	CHECK_CONTAINS(r.reply, "250 2.0.0 Ok: queued as peer-");
	CHECK(r.seconds > 0);
	CHECK_INT(stored(), before + 1);
}

TEST(implicit_tls_delivers)
{
	ops_smtp_result r;
	ops_smtp_opts o;
	ops_error err;

	opts(&o, smtps);
	CHECK_INT(ops_smtp_send(&o, "smtps", "body", &r, &err), OPS_OK);
	CHECK_INT(r.code, 250);
}

TEST(a_wrong_password_is_535)
{
	ops_smtp_result r;
	ops_smtp_opts o;
	ops_error err;

	opts(&o, starttls);
	o.password = "wrong-Pa55";
	CHECK_INT(ops_smtp_send(&o, "s", "b", &r, &err), OPS_EPERM);
	CHECK_CONTAINS(err.message, "AUTH refused: 535 5.7.8");
	CHECK(strstr(err.message, "wrong-Pa55") == NULL);
	CHECK_INT(r.code, 535);
}

TEST(a_refused_recipient_is_named)
{
	char *const to[] = {"ops@example.org", "nobody@example.org", NULL};
	ops_smtp_result r;
	ops_smtp_opts o;
	ops_error err;
	int before = stored();

	opts(&o, starttls);
	o.to = to;
	CHECK_INT(ops_smtp_send(&o, "s", "b", &r, &err), OPS_EFAIL);
	CHECK_CONTAINS(err.message, "refused RCPT TO:<nobody@example.org>: 550");
	CHECK_INT(r.code, 550);
	CHECK_INT(stored(), before);
}

TEST(a_refused_message_is_named)
{
	ops_smtp_result r;
	ops_smtp_opts o;
	ops_error err;

	control("{\"refuse_data\": \"554 5.6.0 message refused by policy\"}");
	opts(&o, starttls);
	CHECK_INT(ops_smtp_send(&o, "s", "b", &r, &err), OPS_EFAIL);
	CHECK_CONTAINS(err.message, "refused end of message data: 554 5.6.0 message refused by policy");
	CHECK_INT(r.code, 554);
	control(refuse_nobody);
}

TEST(no_starttls_sends_nothing)
{
	ops_smtp_result r;
	ops_smtp_opts o;
	ops_error err;

	opts(&o, plain);
	CHECK_INT(ops_smtp_send(&o, "s", "b", &r, &err), OPS_EUNAVAIL);
	CHECK_CONTAINS(err.message, "offers no STARTTLS: nothing sent without TLS");
}

TEST(certificates_that_do_not_verify_are_named)
{
	ops_smtp_result r;
	ops_smtp_opts o;
	ops_error err;

	opts(&o, expired);
	CHECK_INT(ops_smtp_send(&o, "s", "b", &r, &err), OPS_EUNAVAIL);
	CHECK_CONTAINS(err.message, "the certificate has expired");
	opts(&o, otherhost);
	CHECK_INT(ops_smtp_send(&o, "s", "b", &r, &err), OPS_EUNAVAIL);
	CHECK_CONTAINS(err.message, "the certificate is for another host name");
	opts(&o, starttls);
	o.ca_file = NULL;	/* the system's store knows nothing of the test CA */
	CHECK_INT(ops_smtp_send(&o, "s", "b", &r, &err), OPS_EUNAVAIL);
	CHECK_CONTAINS(err.message, "signed by an unknown CA");
}

TEST(plain_to_a_loopback_relay_when_allowed)
{
	ops_smtp_result r;
	ops_smtp_opts o;
	ops_error err;

	opts(&o, plain);
	o.tls = OPS_SMTP_TLS_NONE;
	o.user = o.password = NULL;
	CHECK_INT(ops_smtp_send(&o, "relay", "body", &r, &err), OPS_OK);
	CHECK_INT(r.code, 250);
}

int main(void)
{
	starttls = getenv("OPSCTL_TEST_SMTP_STARTTLS");
	smtps = getenv("OPSCTL_TEST_SMTP_SMTPS");
	plain = getenv("OPSCTL_TEST_SMTP_PLAIN");
	expired = getenv("OPSCTL_TEST_SMTP_EXPIRED");
	otherhost = getenv("OPSCTL_TEST_SMTP_OTHERHOST");
	ca_file = getenv("OPSCTL_TEST_SMTP_CA");
	mail_dir = getenv("OPSCTL_TEST_SMTP_DIR");
	if (getenv("OPSCTL_TEST_SMTP_PASSWORD"))
		password = getenv("OPSCTL_TEST_SMTP_PASSWORD");
	RUN(bad_options_are_configuration_errors);
	RUN(a_closed_port_is_connection_refused);
	RUN(plain_smtp_only_to_loopback);
	if (starttls && smtps && plain && expired && otherhost && ca_file && mail_dir) {
		control(refuse_nobody);
		RUN(starttls_auth_delivers_with_the_250);
		RUN(implicit_tls_delivers);
		RUN(a_wrong_password_is_535);
		RUN(a_refused_recipient_is_named);
		RUN(a_refused_message_is_named);
		RUN(no_starttls_sends_nothing);
		RUN(certificates_that_do_not_verify_are_named);
		RUN(plain_to_a_loopback_relay_when_allowed);
	} else {
		printf("# the SMTP server cases run in tests/integration/t700-alerts-email.sh\n");
	}
	return unit_done();
}
