# Local parts that could escape the Maildir root never touch the file system,
# even when a directory of that name exists.
@mkdir example.org/..
@maildir example.org/.hidden
@maildir example.org/a%b
@maildir example.org/a!b
< 220
> EHLO c
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<../alice@example.org>
< 553 5.1.3
> RCPT TO:<..@example.org>
< 553 5.1.3
> RCPT TO:<.@example.org>
< 553 5.1.3
> RCPT TO:<.hidden@example.org>
< 553 5.1.3
> RCPT TO:<a/b@example.org>
< 553 5.1.3
> RCPT TO:<"alice"@example.org>
< 553 5.1.3
> RCPT TO:<"../x"@example.org>
< 553 5.1.3
> RCPT TO:<a%b@example.org>
< 553 5.1.3
> RCPT TO:<a!b@example.org>
< 553 5.1.3
>raw RCPT TO:<a\x01b@example.org>\r\n
< 553 5.1.3
> RCPT TO:<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.org>
< 553 5.1.3
> RCPT TO:<alice@example.org/../x>
< 553 5.1.3
> RCPT TO:<alice@..>
< 553 5.1.3
> QUIT
< 221
! count example.org/.hidden/new 0
! count example.org/a%b/new 0
! count example.org/a!b/new 0
