/* hex.h - hexadecimal digits, for the decoders of %XX and =XX escapes. */
#ifndef MLIST_HEX_H
#define MLIST_HEX_H

int	hex_digit(int);

#endif
