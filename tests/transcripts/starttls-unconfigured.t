# Without tls_cert and tls_key: no STARTTLS in EHLO, and STARTTLS gets 502.
< 220
> EHLO client.example
<~ 250-mx\.example\.org .*
<~ 250-PIPELINING.*
<~ 250-SIZE.*
<~ 250-8BITMIME.*
<~ 250-ENHANCEDSTATUSCODES.*
< 250 SMTPUTF8
> STARTTLS
< 502 5.5.1
> STARTTLS now
< 501 5.5.4
> QUIT
< 221
