/*
 * tls.c - STARTTLS with GnuTLS, both ways.
 *
 * Ingest: a listener with tls = { certificate, key } offers STARTTLS; the
 * handshake and the records run on the server's non-blocking sockets (the
 * caller polls in the direction GnuTLS asks for). Relay: our own client
 * starts TLS when the relay offers it (relay.tls = "may"), or insists on it
 * and checks the certificate against the system's CA store (or
 * relay.tls_ca_file) and the relay's name (relay.tls = "verify") - the
 * check libetpan's GnuTLS path leaves out. GnuTLS's default priorities
 * (TLS 1.2 and 1.3, no broken ciphers) on both sides.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/tls.h"

struct tls_server {
	gnutls_certificate_credentials_t cred;
};

/* tls_server_new - the listener's certificate and key (PEM); NULL with the reason in err */
struct tls_server *
tls_server_new(const char *cert, const char *key, struct buf *err)
{
	struct tls_server *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return NULL;
	if ((rc = gnutls_certificate_allocate_credentials(&t->cred)) < 0)
		goto fail;
	rc = gnutls_certificate_set_x509_key_file(t->cred, cert, key,
	    GNUTLS_X509_FMT_PEM);
	if (rc < 0)
		goto fail;
	return t;
fail:
	buf_printf(err, "TLS certificate %s / key %s: %s", cert, key,
	    gnutls_strerror(rc));
	tls_server_free(t);
	return NULL;
}

/* tls_server_free - what tls_server_new made, or the part it made */
void
tls_server_free(struct tls_server *t)
{
	if (t && t->cred)
		gnutls_certificate_free_credentials(t->cred);
	free(t);
}

/* tls_accept - a server session on a non-blocking fd, handshake not yet begun; NULL on failure */
gnutls_session_t
tls_accept(struct tls_server *t, int fd)
{
	gnutls_session_t s;

	if (gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0)
		return NULL;
	if (gnutls_set_default_priority(s) < 0 || gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, t->cred) < 0) {
		gnutls_deinit(s);
		return NULL;
	}
	gnutls_certificate_server_set_request(s, GNUTLS_CERT_IGNORE);
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, 0);
	return s;
}

/* tls_handshake - one step: 1 done, 0 call again when the fd is ready (tls_wants_write says which way), -1 failed */
int
tls_handshake(gnutls_session_t s, char *err, size_t n)
{
	int rc = gnutls_handshake(s);

	if (rc == GNUTLS_E_SUCCESS)
		return 1;
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED || (rc < 0 && !gnutls_error_is_fatal(rc)))
		return 0;
	snprintf(err, n, "%s", gnutls_strerror(rc));
	return -1;
}

int
tls_wants_write(gnutls_session_t s)
{
	return gnutls_record_get_direction(s) == 1;
}

/* tls_recv - n bytes, 0 at the end, TLS_AGAIN, or -1 */
ssize_t
tls_recv(gnutls_session_t s, void *p, size_t n)
{
	ssize_t r = gnutls_record_recv(s, p, n);

	if (r >= 0)
		return r;
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
		return TLS_AGAIN;
	if (r == GNUTLS_E_PREMATURE_TERMINATION)
		return 0;
	return -1;
}

/* tls_send - bytes taken, TLS_AGAIN, or -1 */
ssize_t
tls_send(gnutls_session_t s, const void *p, size_t n)
{
	ssize_t r = gnutls_record_send(s, p, n);

	if (r >= 0)
		return r;
	return r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED ? TLS_AGAIN : -1;
}

/* tls_pending - bytes GnuTLS already holds (poll on the fd would not show them) */
size_t
tls_pending(gnutls_session_t s)
{
	return gnutls_record_check_pending(s);
}

/* tls_describe - "TLSv1.3 AES-256-GCM", for the log */
void
tls_describe(gnutls_session_t s, char *out, size_t n)
{
	snprintf(out, n, "%s %s", gnutls_protocol_get_name(gnutls_protocol_get_version(s)),
	    gnutls_cipher_get_name(gnutls_cipher_get(s)));
}

void
tls_close(gnutls_session_t s)
{
	if (!s)
		return;
	(void)gnutls_bye(s, GNUTLS_SHUT_WR);
	gnutls_deinit(s);
}

/* wait - poll the fd in the direction the session wants, up to timeout_ms */
static int
wait_fd(gnutls_session_t s, int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = tls_wants_write(s) ? POLLOUT : POLLIN };

	return poll(&p, 1, timeout_ms) == 1 ? 0 : -1;
}

/*
 * tls_connect - a client session on fd, handshake done within timeout_ms.
 * verify: the certificate must chain to cafile (or the system's store) and
 * name the relay (name: a DNS name or an IP address). NULL with err.
 */
gnutls_session_t
tls_connect(int fd, const char *name, const char *cafile, int verify, int timeout_ms, char *err, size_t n)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s = NULL;
	int rc, step;

	if ((rc = gnutls_certificate_allocate_credentials(&cred)) < 0)
		goto fail;
	if (verify) {
		rc = cafile && *cafile ? gnutls_certificate_set_x509_trust_file(cred, cafile, GNUTLS_X509_FMT_PEM) :
		    gnutls_certificate_set_x509_system_trust(cred);
		if (rc <= 0) {
			snprintf(err, n, "no trusted CA certificates in %s", cafile && *cafile ? cafile :
			    "the system's store");
			gnutls_certificate_free_credentials(cred);
			return NULL;
		}
	}
	if ((rc = gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK)) < 0 || (rc = gnutls_set_default_priority(s)) < 0 ||
	    (rc = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred)) < 0)
		goto fail;
	/* SNI only for a DNS name; the verification checks IP addresses too */
	if (strspn(name, "0123456789.:") != strlen(name) || !*name)
		(void)gnutls_server_name_set(s, GNUTLS_NAME_DNS, name, strlen(name));
	if (verify)
		gnutls_session_set_verify_cert(s, name, 0);
	gnutls_transport_set_int(s, fd);
	/* the credentials must outlive the session: freed with it (see tls_connect_free) */
	gnutls_session_set_ptr(s, cred);
	while ((step = tls_handshake(s, err, n)) == 0)
		if (wait_fd(s, fd, timeout_ms) < 0) {
			snprintf(err, n, "TLS handshake timed out");
			step = -1;
			break;
		}
	if (step < 0) {
		if (verify && gnutls_session_get_verify_cert_status(s) != 0) {
			gnutls_datum_t out;

			if (gnutls_certificate_verification_status_print(gnutls_session_get_verify_cert_status(s),
			    GNUTLS_CRT_X509, &out, 0) == 0) {
				snprintf(err, n, "certificate of %s not trusted: %s", name, out.data);
				gnutls_free(out.data);
			}
		}
		tls_connect_free(s);
		return NULL;
	}
	return s;
fail:
	snprintf(err, n, "TLS: %s", gnutls_strerror(rc));
	if (s)
		gnutls_deinit(s);
	if (cred)
		gnutls_certificate_free_credentials(cred);
	return NULL;
}

/* tls_connect_free - close a client session and its credentials */
void
tls_connect_free(gnutls_session_t s)
{
	gnutls_certificate_credentials_t cred;

	if (!s)
		return;
	cred = gnutls_session_get_ptr(s);
	tls_close(s);
	if (cred)
		gnutls_certificate_free_credentials(cred);
}

/* tls_io_wait - for the blocking client: wait until a record can move (pending data counts) */
int
tls_io_wait(gnutls_session_t s, int fd, int want_write, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = want_write ? POLLOUT : POLLIN };

	if (!want_write && tls_pending(s))
		return 0;
	return poll(&p, 1, timeout_ms) == 1 ? 0 : -1;
}
