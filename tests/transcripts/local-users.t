# Users exist iff their Maildir exists; case-insensitive; +detail to the base user.
@maildir example.net/carol
< 220
> EHLO c
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<nobody@example.org>
< 550 5.1.1
> RCPT TO:<carol@example.org>
< 550 5.1.1
> RCPT TO:<Carol+Lists@Example.NET>
< 250 2.1.5
> RCPT TO:<+x@example.org>
< 553 5.1.3
> DATA
< 354 End data
> hi
> .
< 250
> QUIT
< 221
! count example.net/carol/new 1
! log reason=unknown-user
