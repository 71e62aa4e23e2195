# Idle past the timeout: 421 4.4.2 and exit.
@config timeout = 1
@keepopen
< 220
> EHLO c
<* 250
< 421 4.4.2
! log reason=timeout
