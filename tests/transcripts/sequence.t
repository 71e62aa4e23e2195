# Commands out of order get 503 5.5.1 and the session goes on.
< 220
> MAIL FROM:<a@b.example>
< 503 5.5.1
> RCPT TO:<alice@example.org>
< 503 5.5.1
> DATA
< 503 5.5.1
> HELO c
< 250
> RCPT TO:<alice@example.org>
< 503 5.5.1
> MAIL FROM:<a@b.example>
< 250
> MAIL FROM:<a@b.example>
< 503 5.5.1
> DATA
< 554 5.5.1 No valid recipients
> QUIT
< 221
