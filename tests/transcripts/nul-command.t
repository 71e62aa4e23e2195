# NUL in a command line is refused.
< 220
>raw NO\0OP\r\n
< 500 5.5.2
> QUIT
< 221
