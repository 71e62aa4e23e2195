# A command line of 512 octets (CR LF included) is accepted; a longer one
# gets exactly one 500 5.5.2 and the session goes on (RFC 5321 4.5.3.1.4).
< 220
>raw NOOP {505*x}\r\n
< 250 2.0.0
>raw NOOP {506*x}\r\n
< 500 5.5.2 Line too long
>raw NOOP {100000*x}\r\n
< 500 5.5.2 Line too long
> NOOP
< 250
> QUIT
< 221
