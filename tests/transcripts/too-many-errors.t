# More than max_errors refused commands: 421 4.7.0 and the session ends.
@config max_errors = 10
< 220
> BAD1
< 500
> BAD2
< 500
> BAD3
< 500
> BAD4
< 500
> BAD5
< 500
> BAD6
< 500
> BAD7
< 500
> BAD8
< 500
> BAD9
< 500
> BAD10
< 500
> BAD11
< 500
< 421 4.7.0
> NOOP
! log event=disconnect reason=too-many-errors
