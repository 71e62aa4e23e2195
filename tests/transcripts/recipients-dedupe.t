# The same mailbox named twice (any case, any +detail) gets one copy.
< 220
> EHLO c
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<alice@example.org>
< 250
> RCPT TO:<ALICE@EXAMPLE.ORG>
< 250
> RCPT TO:<alice+news@example.org>
< 250
> RCPT TO:<bob@example.org>
< 250
> DATA
< 354 End data
> hi
> .
< 250
> QUIT
< 221
! count example.org/alice/new 1
! count example.org/bob/new 1
! nogrep example.org/alice/new for <
