# NOOP, HELP, VRFY (252), EXPN, unknown commands; case does not matter.
< 220
> noop
< 250 2.0.0
> HeLp
< 214 2.0.0
> VRFY alice
< 252 2.5.2
> VRFY
< 501 5.5.4
> EXPN list
< 502 5.5.1
> STARTTLS
< 502 5.5.1
> FOO bar
< 500 5.5.1
> ehlo lower.example
<* 250
> rset
< 250 2.0.0
> quit
< 221 2.0.0
