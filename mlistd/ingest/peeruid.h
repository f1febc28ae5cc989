/* peeruid.h - the user on this host behind a loopback TCP client */
#ifndef MLIST_INGEST_PEERUID_H
#define MLIST_INGEST_PEERUID_H

int	peeruid_of(int fd, long *uid);

#endif
