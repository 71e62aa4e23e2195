# Domains with "/", "..", NUL or control characters are refused even from
# a relay client (this session is local, so it may relay).
< 220
> EHLO c
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<x@../../etc>
< 553 5.1.3
> RCPT TO:<x@a/b.example>
< 553 5.1.3
>raw RCPT TO:<x@a\x00b.example>\r\n
< 500 5.5.2
>raw RCPT TO:<x@a\x7fb.example>\r\n
< 553 5.1.3
> QUIT
< 221
! count queue:env 0
