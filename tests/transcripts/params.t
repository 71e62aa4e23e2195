# MAIL parameters: SIZE, BODY, SMTPUTF8 understood; others 555 5.5.4.
< 220
> EHLO c
<* 250
> MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME SMTPUTF8
< 250 2.1.0
> RSET
< 250
> MAIL FROM:<a@b.example> BODY=7BIT
< 250 2.1.0
> RSET
< 250
> MAIL FROM:<a@b.example> BODY=BINARYMIME
< 501 5.5.4
> MAIL FROM:<a@b.example> SIZE=abc
< 501 5.5.4
> MAIL FROM:<a@b.example> AUTH=<>
< 555 5.5.4
> MAIL FROM:<a@b.example> RET=HDRS
< 555 5.5.4
> MAIL FROM:<a@b.example> =x
< 501 5.5.4
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<alice@example.org> NOTIFY=NEVER
< 555 5.5.4
> QUIT
< 221
