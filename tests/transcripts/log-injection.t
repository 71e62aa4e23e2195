# Control characters from the client never reach the log raw.
@config log_level = debug
< 220
>raw VRFY a\x1b[31mred\r\n
< 252
> QUIT
< 221
! log text="VRFY a\\x1b\[31mred"
! nolog \x1b
