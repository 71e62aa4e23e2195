# A clean EOF without QUIT ends with exit status 0.
< 220
> NOOP
< 250
! log reason=eof
