# A bad configuration: 421 4.3.0 to the client, a message naming the file,
# line and key, exit status 78.
@config no_such_key = 1
@exit 78
< 421 4.3.0
! log mailsock\.conf:5: unknown key "no_such_key"
