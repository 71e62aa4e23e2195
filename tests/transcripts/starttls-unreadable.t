# STARTTLS is offered when tls_cert and tls_key are set; a key that cannot
# be read gets 454 at STARTTLS and the session goes on in clear.  A
# plaintext session that never says STARTTLS never reads them (no error).
@config tls_cert = /nonexistent/cert.pem
@config tls_key = /nonexistent/key.pem
< 220
> EHLO client.example
<~ 250-mx\.example\.org .*
<~ 250-PIPELINING.*
<~ 250-SIZE.*
<~ 250-8BITMIME.*
<~ 250-ENHANCEDSTATUSCODES.*
<~ 250-SMTPUTF8.*
< 250 STARTTLS
> STARTTLS
< 454 4.7.0
! log event=tls-unavailable
> MAIL FROM:<a@b.example>
< 250
> QUIT
< 221
