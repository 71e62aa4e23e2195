# Idle inside DATA: 421 4.4.2, nothing stored.
@config timeout = 1
@keepopen
< 220
> EHLO c
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<alice@example.org>
< 250
> DATA
< 354 End data
> partial line
< 421 4.4.2
! count example.org/alice/new 0
! count example.org/alice/tmp 0
