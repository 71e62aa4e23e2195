# Address syntax errors: 501 with 5.5.2 (command), 5.1.7 (sender), 5.1.3 (recipient).
< 220
> EHLO c
<* 250
> MAIL FROM:a@b.example
< 501 5.5.2
> MAIL TO:<a@b.example>
< 501 5.5.2
> MAIL FROM:<a..b@b.example>
< 501 5.1.7
> MAIL FROM:<a@b..example>
< 501 5.1.7
> MAIL FROM:<@b.example>
< 501 5.5.2
> MAIL FROM:<a@b.example
< 501 5.5.2
> MAIL FROM: <a@b.example>
< 250 2.1.0
> RCPT TO:alice@example.org
< 501 5.5.2
> RCPT TO:<alice@example.org.>
< 553 5.1.3
> RCPT TO:<alice@-example.org>
< 553 5.1.3
> RCPT TO:<alice>
< 553 5.1.3
> RCPT TO: <alice@example.org>
< 250 2.1.5
> QUIT
< 221
