# log_level = debug: a line that matches no command (here the pipelined
# answer after an aborted AUTH, a password) is logged only as a short verb.
@config log_level = debug
< 220
> EHLO c
<* 250
> c2VjcmV0cGFzc3dvcmQtMTIzNDU2Nzg5MA== trailing-secret
< 500
> AUTH
< 502
> QUIT
< 221
! log event=command text=c2VjcmV0cGFzc3dv\s
! nolog c2VjcmV0cGFzc3dvc
! nolog trailing-secret
! log event=command text=AUTH\s
