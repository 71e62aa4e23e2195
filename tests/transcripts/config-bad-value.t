# A bad value names the key.
@config max_recipients = 5
@exit 78
< 421 4.3.0
! log mailsock\.conf:5: max_recipients: must be between 100 and
