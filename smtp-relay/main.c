/* smtp-relay - deliver queued mail (not implemented yet: see the issue). */
#include <stdio.h>

int main(void)
{
	fputs("smtp-relay: not implemented yet\n", stderr);
	return 69;     /* EX_UNAVAILABLE */
}
