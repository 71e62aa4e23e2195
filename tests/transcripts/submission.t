# submission = yes (RFC 6409): MAIL before AUTH gets 530 5.7.0; after
# AUTH the client may relay; the sender must be the login's address (any
# case, +detail allowed) or <>, else 553 5.7.1.
@file users
| # login:hash (crypt(3)); passwords: alice secret, bob hunter2, carol sesame, dave opensesame
| alice@example.org:$y$j9T$F5Jx5fExrKuPp53xLKQ..1$GmcwIgvdUC9qLWcKCi6gklUa1dM3ziD43YxYNURLKy0
| bob@example.org:$6$Hq7D9z3lWq0yB2Yc$MaGTq08k99VJSKvk9X.BQrXX/5jzUlUe0DbYx1fVqyxNEoSBmpde2cKpcGQAx.4BkNzk4mbc4xPYD8movbcre.
| carol@example.org:$5$r8Z0xYb1cQk2Lm3N$UKFtk4erKwE6TIC2sySG7Foyc.rnriB3/UhaDt.uHH0
| dave@example.org:$2b$05$abcdefghijklmnopqrstuuQbLfdQZSxZ9gjhA5V9o8Tyc6aQRO0Qi
@config auth_users = {root}/users
@config auth_require_tls = no
@config submission = yes
@env TCPREMOTEIP=203.0.113.7
< 220
> EHLO laptop
<* 250
> MAIL FROM:<alice@example.org>
< 530 5.7.0
> AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==
< 235 2.7.0
> MAIL FROM:<bob@example.org>
< 553 5.7.1
> MAIL FROM:<alice@example.org.evil.example>
< 553 5.7.1
> MAIL FROM:<alicex@example.org>
< 553 5.7.1
> MAIL FROM:<Alice+lists@Example.ORG>
< 250
> RCPT TO:<friend@elsewhere.example>
< 250 2.1.5
> DATA
< 354
> Subject: from the laptop
>
> hello
> .
< 250 2.0.0
> MAIL FROM:<>
< 250
> RSET
< 250
> QUIT
< 221
! count queue:msg 1
! grep queue:msg with ESMTPA id
! log event=message .*from=Alice\+lists@Example.ORG auth=alice@example.org
