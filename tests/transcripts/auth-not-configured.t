# No back end: AUTH is not in EHLO and is not available.
@config auth_require_tls = no
< 220
> EHLO c
<~ 250-.*
<~ 250-.*
<~ 250-.*
<~ 250-.*
<~ 250-.*
< 250 SMTPUTF8
> AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==
< 502 5.5.1
> QUIT
< 221
