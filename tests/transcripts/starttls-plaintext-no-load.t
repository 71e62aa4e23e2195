# A plaintext session never loads the certificate: with unreadable files
# configured, a whole delivery logs no TLS error.
@config tls_cert = /nonexistent/cert.pem
@config tls_key = /nonexistent/key.pem
< 220
> EHLO client.example
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<alice@example.org>
< 250
> DATA
< 354
> Subject: x
>
> hi
> .
< 250
> QUIT
< 221
! nolog tls-unavailable|tls_cert|cert\.pem
