# A new EHLO resets the transaction (RFC 5321 4.1.4).
< 220
> EHLO one
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<alice@example.org>
< 250
> EHLO two
<* 250
> DATA
< 503 5.5.1
> MAIL FROM:<a@b.example>
< 250
> QUIT
< 221
