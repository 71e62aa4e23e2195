# A pipelined batch (RFC 2920) gets its replies in order, including refusals.
< 220
>raw EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n
<* 250
< 250 2.1.0
< 550 5.1.1
< 250 2.1.5
< 250 2.1.5
< 354 End data
>raw one\r\n.\r\nMAIL FROM:<c@d.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n
< 250 2.0.0
< 250 2.1.0
< 250 2.1.5
< 354 End data
>raw two\r\n.\r\nRSET\r\nQUIT\r\n
< 250 2.0.0
< 250 2.0.0
< 221
! count example.org/alice/new 1
! count example.org/bob/new 2
