# postmaster@ any local domain, any case, is always accepted and created on
# first use; a bare <postmaster> goes to the first local domain.
< 220
> EHLO c
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<PostMaster@example.net>
< 250 2.1.5
> RCPT TO:<postmaster>
< 250 2.1.5
> RCPT TO:<POSTMASTER>
< 250 2.1.5
> DATA
< 354 End data
> hi
> .
< 250
> QUIT
< 221
! count example.net/postmaster/new 1
! count example.org/postmaster/new 1
