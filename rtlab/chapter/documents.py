"""Every GraphQL document of the chapter (sections 21.1 and 21.2), verbatim.

One copy for everything that runs them: the server tests (the demo schema answers the
book's own documents), the chapter ports in :mod:`rtlab.chapter` and the notebooks.

The texts are the chapter's raw strings exactly (indentation included), so a test that runs
them proves the demo schema answers the book's own documents. ``FETCH_MORE_VARIABLES`` is
what the chapter's ``fetchMore`` sends with ``GET_USER``: variables the query never
declares. ``GET_USER_PAGINATED`` is the corrected query; ``GET_USER_UNDECLARED`` is the
"obvious" half-fix (use ``$limit``/``$offset`` without declaring them), which fails
validation.
"""

from __future__ import annotations

GET_USER = r'''
    query GetUser($userId: ID!) {
      user(id: $userId) {
        id
        name
        email
        avatar
        posts(limit: 10) {
          id
          title
          content
          createdAt
        }
      }
    }
  '''

CREATE_POST = r'''
    mutation CreatePost($input: CreatePostInput!) {
      createPost(input: $input) {
        id
        title
        content
        createdAt
        author {
          id
          name
        }
      }
    }
  '''

ON_NEW_NOTIFICATION = r'''
    subscription OnNewNotification {
      notificationReceived {
        id
        type
        message
        timestamp
        read
        metadata {
          actionUrl
          imageUrl
        }
      }
    }
  '''

ON_NEW_MESSAGE = r'''
    subscription OnNewMessage($chatRoomId: ID!) {
      messageReceived(chatRoomId: $chatRoomId) {
        id
        content
        sender {
          id
          name
          avatar
        }
        timestamp
        attachments {
          type
          url
        }
      }
    }
  '''

NOTIFICATIONS_ANONYMOUS = r'''
        subscription { notificationReceived { id message } }
      '''

PRESENCE_ANONYMOUS = r'''
        subscription { userPresenceUpdated { userId status } }
      '''

# The chapter's fetchMore: {'limit': 10, 'offset': 10} sent with GET_USER (graphql_flutter
# merges them into the original variables, so userId is still there).
FETCH_MORE_VARIABLES = {"limit": 10, "offset": 10}

# --- not from the chapter: the fix and the half-fix --------------------------------------
GET_USER_PAGINATED = """
query GetUser($userId: ID!, $limit: Int = 10, $offset: Int = 0) {
  user(id: $userId) {
    id
    name
    posts(limit: $limit, offset: $offset) { id title createdAt }
  }
}
"""

GET_USER_UNDECLARED = """
query GetUser($userId: ID!) {
  user(id: $userId) {
    id
    posts(limit: $limit, offset: $offset) { id title }
  }
}
"""

QUERIES_AND_MUTATIONS = {"GetUser": GET_USER, "CreatePost": CREATE_POST}
SUBSCRIPTIONS = {
    "OnNewNotification": ON_NEW_NOTIFICATION,
    "OnNewMessage": ON_NEW_MESSAGE,
    "anonymous notificationReceived": NOTIFICATIONS_ANONYMOUS,
    "anonymous userPresenceUpdated": PRESENCE_ANONYMOUS,
}
