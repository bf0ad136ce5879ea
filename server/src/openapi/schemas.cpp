// SPDX-License-Identifier: Apache-2.0
// The wire format of docs/api.md as JSON Schemas. Where a body is the library's (a run's or a
// session's envelope, a Tymbal frame) the members the routes promise are listed and others
// allowed, so the library can add members without breaking the document.
#include "openapi/schemas.hpp"

namespace agentcore::server {
namespace {

#define REF(name) R"({"$ref":"#/components/schemas/)" name R"("})"
#define STR R"({"type":"string"})"
#define TIME R"({"type":"string","format":"date-time"})"
#define INT R"({"type":"integer"})"
#define BOOL R"({"type":"boolean"})"

constexpr SchemaComponent kSchemas[] = {
    // The three error forms of docs/api.md in one shape: Cast's {"error":text}, ours
    // {"error":code,"message":text}, execbox/Octo's {"error":text,"code":code}.
    {"Error", R"({"type":"object","required":["error"],"properties":{"error":)" STR
              R"(,"message":)" STR R"(,"code":)" STR R"(}})"},
    {"Ok", R"({"type":"object","required":["ok"],"properties":{"ok":{"const":true}}})"},
    {"Health", R"({"type":"object","required":["status","version","timestamp"],)"
               R"("properties":{"status":{"const":"ok"},"version":)" STR R"(,"timestamp":)" TIME
               R"(}})"},
    {"Ready", R"({"type":"object","required":["ready","node"],"properties":{"ready":)" BOOL
              R"(,"node":)" STR R"(,"reason":)" STR R"(}})"},
    {"Root", R"({"type":"object","required":["name","version","docs"],"properties":{"name":)" STR
             R"(,"version":)" STR R"(,"docs":)" STR R"(}})"},
    {"FocusTypes", R"({"type":"object","required":["focusTypes"],"properties":{"focusTypes":)"
                   R"({"type":"array","items":{"type":"object","required":["slug","name"],)"
                   R"("properties":{"slug":)" STR R"(,"name":)" STR R"(,"description":)" STR
                   R"(}}}}})"},
    {"AgentTypes", R"({"type":"object","required":["agentTypes"],"properties":{"agentTypes":)"
                   R"({"type":"array","items":{"type":"object","required":["slug"],)"
                   R"("properties":{"slug":)" STR R"(}}}}})"},
    {"Backends", R"({"type":"array","items":{"type":"object","required":["name","isBuiltIn",)"
                 R"("capabilities"],"properties":{"name":)" STR R"(,"isBuiltIn":)" BOOL
                 R"(,"capabilities":{"type":"object","additionalProperties":)" BOOL R"(}}}})"},
    // Accounts and sessions of users.
    {"User", R"({"type":"object","required":["id","callsign"],"properties":{"id":)" STR
             R"(,"externalId":)" STR R"(,"callsign":)" STR R"(,"email":)" STR
             R"(,"avatarUrl":)" STR R"(,"disclaimerAcceptedVersion":)" STR
             R"(,"createdAt":)" TIME R"(,"updatedAt":)" TIME R"(}})"},
    {"Space", R"({"type":"object","required":["id","name","ownerId"],"properties":{"id":)" STR
              R"(,"name":)" STR R"(,"ownerId":)" STR R"(,"createdAt":)" TIME
              R"(,"updatedAt":)" TIME R"(}})"},
    {"DevSpaces", R"({"type":"object","required":["spaces"],"properties":{"spaces":)"
                  R"({"type":"array","items":{"type":"object","required":["space","owner"],)"
                  R"("properties":{"space":)" REF("Space") R"(,"owner":)" REF("User")
                  R"(}}}}})"},
    {"DevLoginRequest", R"({"type":"object","properties":{"spaceId":)" STR R"(,"callsign":)" STR
                        R"(,"spaceName":)" STR R"(}})"},
    {"DevLogin", R"({"type":"object","required":["userId","spaceId","user","space"],)"
                 R"("properties":{"userId":)" STR R"(,"spaceId":)" STR R"(,"user":)" REF("User")
                 R"(,"space":)" REF("Space") R"(}})"},
    {"Me", R"({"type":"object","required":["userId","spaceId","user","space"],)"
           R"("properties":{"userId":)" STR R"(,"spaceId":)" STR R"(,"mode":)" STR
           R"(,"user":)" REF("User") R"(,"space":)" REF("Space") R"(}})"},
    {"RegisterRequest", R"({"type":"object","required":["inviteCode","email","password"],)"
                        R"("properties":{"inviteCode":)" STR R"(,"email":)" STR
                        R"(,"password":{"type":"string","minLength":8},"name":)" STR R"(}})"},
    {"LoginRequest", R"({"type":"object","required":["email","password"],"properties":)"
                     R"({"email":)" STR R"(,"password":)" STR R"(}})"},
    {"AccountSession", R"({"type":"object","required":["user","space","token"],"properties":)"
                       R"({"user":)" REF("User") R"(,"space":)" REF("Space")
                       R"(,"token":{"type":"string","description":"the session JWT"}}})"},
    // Channels, roster, agents, messages (Cast).
    {"Channel", R"({"type":"object","required":["id","spaceId","name","archived","createdAt",)"
                R"("updatedAt","lastActiveAt"],"properties":{"id":)" STR R"(,"spaceId":)" STR
                R"(,"name":)" STR R"(,"tagline":)" STR R"(,"mission":)" STR
                R"(,"archived":)" BOOL R"(,"createdAt":)" TIME R"(,"updatedAt":)" TIME
                R"(,"lastActiveAt":)" TIME R"(}})"},
    {"ChannelCreate", R"({"type":"object","required":["name"],"properties":{"name":)" STR
                      R"(,"tagline":)" STR R"(,"mission":)" STR R"(}})"},
    {"ChannelUpdate", R"({"type":"object","properties":{"name":)" STR R"(,"tagline":)" STR
                      R"(,"mission":)" STR R"(,"archived":)" BOOL R"(}})"},
    {"ChannelEnvelope", R"({"type":"object","required":["channel"],"properties":{"channel":)"
                        R"({"oneOf":[)" REF("Channel") R"(,{"type":"null"}]}}})"},
    {"ChannelList", R"({"type":"object","required":["channels"],"properties":{"channels":)"
                    R"({"type":"array","items":)" REF("Channel") R"(}}})"},
    {"ChannelWithRoster", R"({"type":"object","required":["channel","roster"],"properties":)"
                          R"({"channel":)" REF("Channel") R"(,"roster":{"type":"array",)"
                          R"("items":)" REF("RosterEntry") R"(}}})"},
    {"RosterEntry", R"({"type":"object","required":["id","channelId","callsign","agentType",)"
                    R"("status","createdAt"],"properties":{"id":)" STR R"(,"channelId":)" STR
                    R"(,"callsign":)" STR R"(,"agentType":)" STR R"(,"status":{"enum":)"
                    R"(["active","idle","busy","offline","paused","archived"]},"createdAt":)" TIME
                    R"(,"callbackUrl":)" STR R"(,"readmark":)" STR R"(,"runtimeId":)" STR
                    R"(}})"},
    {"RosterList", R"({"type":"object","required":["roster"],"properties":{"roster":)"
                   R"({"type":"array","items":)" REF("RosterEntry") R"(}}})"},
    {"RosterAdd", R"({"type":"object","required":["callsign","agentType"],"properties":)"
                  R"({"callsign":)" STR R"(,"agentType":)" STR R"(,"status":)" STR
                  R"(,"runtimeId":)" STR R"(}})"},
    {"RosterEntryEnvelope", R"({"type":"object","required":["entry"],"properties":{"entry":)"
                            REF("RosterEntry") R"(}})"},
    {"AgentAdd", R"({"type":"object","required":["callsign","agentType"],"properties":)"
                 R"({"callsign":)" STR R"(,"agentType":)" STR R"(,"runtimeId":)" STR R"(}})"},
    {"AgentAdded", R"({"type":"object","required":["success","agent"],"properties":)"
                   R"({"success":{"const":true},"agent":{"type":"object","required":["id",)"
                   R"("callsign","agentType","status"],"properties":{"id":)" STR
                   R"(,"callsign":)" STR R"(,"agentType":)" STR R"(,"status":)" STR
                   R"(}}}})"},
    {"AgentAction", R"({"type":"object","required":["success","callsign"],"properties":)"
                    R"({"success":{"const":true},"callsign":)" STR R"(,"status":)" STR R"(}})"},
    {"ArchivedAgents", R"({"type":"object","required":["agents"],"properties":{"agents":)"
                       R"({"type":"array","items":)" REF("RosterEntry") R"(}}})"},
    {"Message", R"({"type":"object","required":["id","channelId","sender","senderType","type",)"
                R"("content","timestamp","isComplete"],"properties":{"id":)" STR
                R"(,"channelId":)" STR R"(,"sender":)" STR R"(,"senderType":)" STR
                R"(,"type":)" STR R"(,"content":{"type":["string","object"]},"timestamp":)" TIME
                R"(,"isComplete":)" BOOL R"(,"addressedAgents":{"type":"array","items":)" STR
                R"(},"metadata":{"type":"object"}}})"},
    {"MessageList", R"({"type":"object","required":["messages"],"properties":{"messages":)"
                    R"({"type":"array","items":)" REF("Message") R"(}}})"},
    {"MessagePost", R"({"type":"object","required":["content","sender"],"properties":)"
                    R"({"content":)" STR R"(,"sender":)" STR R"(,"senderType":{"enum":)"
                    R"(["user","agent"]},"type":)" STR R"(,"attachSlugs":{"type":"array",)"
                    R"("items":)" STR R"(}}})"},
    {"MessagePosted", R"({"type":"object","required":["message"],"properties":{"message":)"
                      REF("Message") R"(,"attachmentSlugs":{"type":"array","items":)" STR
                      R"(}}})"},
    {"CostTally", R"({"type":"object","required":["tally"],"properties":{"tally":)"
                  R"({"type":"array","items":{"type":"object","required":["callsign"],)"
                  R"("properties":{"callsign":)" STR R"(,"totalCostUsd":{"type":"number"},)"
                  R"("totalTurns":)" INT R"(,"totalDurationMs":)" INT R"(}}}}})"},
    // The container protocol and Tymbal ingest (agents' containers).
    {"Checkin", R"({"type":"object","required":["protocolVersion","agentId","endpoint"],)"
                R"("properties":{"protocolVersion":{"const":"3.0"},"agentId":)" STR
                R"(,"endpoint":)" STR R"(,"routeHints":{"type":"object"}}})"},
    {"CheckinResult", R"({"type":"object","required":["ok","agentId","delivered"],)"
                      R"("properties":{"ok":{"const":true},"agentId":)" STR
                      R"(,"delivered":)" INT R"(}})"},
    {"Heartbeat", R"({"type":"object","required":["agentId"],"properties":{"agentId":)" STR
                  R"(}})"},
    {"HeartbeatResult", R"({"type":"object","required":["ok","timestamp"],"properties":)"
                        R"({"ok":{"const":true},"timestamp":)" TIME R"(}})"},
    {"AgentStatus", R"({"type":"object","required":["agentId","status"],"properties":)"
                    R"({"agentId":)" STR R"(,"status":{"enum":["online","offline"]},)"
                    R"("endpoint":{"type":["string","null"]},"lastActivity":)"
                    R"({"type":["string","null"],"format":"date-time"}}})"},
    {"TymbalFrame", R"({"type":"object","description":"A Tymbal frame (docs/tymbal.md): i, )"
                    R"(t, and v, a, or nothing for a reset","required":["i"],"properties":)"
                    R"({"i":)" STR R"(,"t":)" STR R"(,"m":{"type":"object"},"a":)" STR
                    R"(,"v":{}}})"},
    {"TymbalBatch", R"({"type":"object","required":["ok","total","succeeded","failed",)"
                    R"("results"],"properties":{"ok":)" BOOL R"(,"total":)" INT
                    R"(,"succeeded":)" INT R"(,"failed":)" INT R"(,"results":{"type":"array",)"
                    R"("items":{"type":"object","required":["line","ok"],"properties":)"
                    R"({"line":)" INT R"(,"ok":)" BOOL R"(,"error":)" STR R"(}}}}})"},
    {"TymbalStream", R"({"type":"object","required":["ok","frames","persisted","invalid"],)"
                     R"("properties":{"ok":)" BOOL R"(,"frames":)" INT R"(,"persisted":)" INT
                     R"(,"invalid":)" INT R"(,"errors":{"type":"array","items":{"type":)"
                     R"("object","properties":{"line":)" INT R"(,"error":)" STR R"(}}}}})"},
    // Platform Agent's projects and runs (/v1).
    {"V1Root", R"({"type":"object","required":["name","version","links"],"properties":)"
               R"({"name":)" STR R"(,"version":)" STR R"(,"links":{"type":"object",)"
               R"("additionalProperties":)" STR R"(}}})"},
    {"Capabilities", R"({"type":"object","required":["version","workspaceBackends","phases",)"
                     R"("limits"],"properties":{"version":)" STR R"(,"workspaceBackends":)"
                     R"({"type":"array","items":)" STR R"(},"phases":{"type":"array","items":)"
                     STR R"(},"events":{},"features":{"type":"object"},"limits":)"
                     R"({"type":"object","additionalProperties":)" INT R"(},"auth":)"
                     R"({"type":"object"}}})"},
    {"ProjectCreate", R"({"type":"object","properties":{"id":)" STR R"(,"name":)" STR
                      R"(,"settings":{"type":"object"}}})"},
    {"Project", R"({"type":"object","required":["id","name","channelId","createdAt",)"
                R"("updatedAt"],"properties":{"id":)" STR R"(,"name":)" STR
                R"(,"channelId":)" STR R"(,"settings":{"type":"object"},"createdAt":)" TIME
                R"(,"updatedAt":)" TIME R"(}})"},
    {"ProjectList", R"({"type":"object","required":["projects","nextCursor"],"properties":)"
                    R"({"projects":{"type":"array","items":)" REF("Project")
                    R"(},"nextCursor":{"type":["string","null"]}}})"},
    {"RunCreate", R"({"type":"object","required":["prompt"],"properties":{"prompt":)" STR
                  R"(,"stream":)" BOOL R"(,"workspaceBackend":)" STR R"(,"webhookUrl":)" STR
                  R"(,"maxAttempts":)" INT R"(}})"},
    {"ProjectMessage", R"({"type":"object","required":["content"],"properties":{"content":)" STR
                       R"(}})"},
    {"Run", R"({"type":"object","required":["id","projectId","status","attempts","createdAt",)"
            R"("updatedAt"],"properties":{"id":)" STR R"(,"projectId":{"type":["string",)"
            R"("null"]},"status":)" STR R"(,"kind":)" STR R"(,"prompt":)" STR
            R"(,"attempts":)" INT R"(,"createdAt":)" TIME R"(,"updatedAt":)" TIME
            R"(,"error":{"oneOf":[{"type":"null"},)" REF("Error") R"(]}}})"},
    {"RunList", R"({"type":"object","required":["runs","nextCursor"],"properties":{"runs":)"
                R"({"type":"array","items":)" REF("Run") R"(},"nextCursor":{"type":)"
                R"(["string","null"]}}})"},
    {"RunMessages", R"({"type":"object","required":["messages"],"properties":{"messages":)"
                    R"({"type":"array","items":{"type":"object","required":["id","role",)"
                    R"("content"],"properties":{"id":)" STR R"(,"role":)" STR
                    R"(,"content":{},"createdAt":)" TIME R"(}}}}})"},
    {"AgentTask", R"({"type":"object","description":"The builder's task: docs/runs.md, Tasks"})"},
    // API keys.
    {"ApiKeyCreate", R"({"type":"object","required":["name"],"properties":{"name":)" STR
                     R"(,"tier":)" STR R"(,"requestsPerMinute":)" INT
                     R"(,"maxRunningSessions":)" INT R"(,"admin":)" BOOL R"(}})"},
    {"ApiKey", R"({"type":"object","required":["id","name","prefix","spaceId","tier",)"
               R"("requestsPerMinute","maxRunningSessions","admin","createdAt","lastUsedAt",)"
               R"("revoked"],"properties":{"id":)" STR R"(,"name":)" STR R"(,"prefix":)" STR
               R"(,"spaceId":)" STR R"(,"tier":{"type":["string","null"]},)"
               R"("requestsPerMinute":{"type":["integer","null"]},)"
               R"("maxRunningSessions":{"type":["integer","null"]},"admin":)" BOOL
               R"(,"createdAt":)" TIME R"(,"lastUsedAt":{"type":["string","null"]},)"
               R"("revoked":)" BOOL R"(}})"},
    {"ApiKeyCreated", R"({"allOf":[)" REF("ApiKey") R"(,{"type":"object","required":["key"],)"
                      R"("properties":{"key":{"type":"string","description":"the secret, )"
                      R"(shown once"}}}]})"},
    {"ApiKeyList", R"({"type":"object","required":["keys"],"properties":{"keys":)"
                   R"({"type":"array","items":)" REF("ApiKey") R"(}}})"},
    // Invite codes (administrators; hub/accounts.hpp AppendInviteCodeJson).
    {"InviteCodeCreate", R"({"type":"object","properties":{"count":{"type":"integer","minimum":1,"maximum":100},)"
                         R"("ttlHours":{"type":"integer","minimum":0,"maximum":876000}},"additionalProperties":false})"},
    {"InviteCode", R"({"type":"object","required":["id","prefix","createdAt","expiresAt","usedAt","usedBy","revoked"],)"
                   R"("properties":{"id":)" STR R"(,"code":)" STR R"(,"prefix":)" STR
                   R"(,"createdAt":)" TIME R"(,"expiresAt":{"type":["string","null"],"format":"date-time"})"
                   R"(,"usedAt":{"type":["string","null"],"format":"date-time"},"usedBy":)" STR
                   R"(,"revoked":)" BOOL R"(}})"},
    {"InviteCodeList", R"({"type":"object","required":["inviteCodes"],"properties":{"inviteCodes":)"
                       R"({"type":"array","items":)" REF("InviteCode") R"(}}})"},
    // Sessions (execbox /v1, Octo /api).
    {"SessionCreate", R"({"type":"object","properties":{"image":)" STR R"(,"command":)"
                      R"({"type":"array","items":)" STR R"(},"env":{"type":"object",)"
                      R"("additionalProperties":)" STR R"(},"workDir":)" STR
                      R"(,"resources":{"type":"object","properties":{"cpuMillis":)" INT
                      R"(,"memoryMB":)" INT R"(,"timeoutMs":)" INT R"(}},"network":{},)"
                      R"("ports":{}}})"},
    {"Session", R"({"type":"object","required":["id","status","command","workDir","envNames",)"
                R"("generation","createdAt","updatedAt"],"properties":{"id":)" STR
                R"(,"status":)" STR R"(,"image":{"type":["string","null"]},"command":)"
                R"({"type":"array","items":)" STR R"(},"workDir":)" STR R"(,"envNames":)"
                R"({"type":"array","items":)" STR R"(},"resources":{"type":"object"},)"
                R"("network":{},"ports":{},"generation":)" INT R"(,"exitCode":)"
                R"({"type":["integer","null"]},"reason":)" STR R"(,"createdAt":)" TIME
                R"(,"updatedAt":)" TIME R"(,"startedAt":{"type":["string","null"]},)"
                R"("stoppedAt":{"type":["string","null"]}}})"},
    {"SessionList", R"({"type":"object","required":["sessions","nextCursor"],"properties":)"
                    R"({"sessions":{"type":"array","items":)" REF("Session")
                    R"(},"nextCursor":{"type":["string","null"]}}})"},
    {"FileList", R"({"type":"object","required":["entries"],"properties":{"entries":)"
                 R"({"type":"array","items":{"type":"object","required":["path","type",)"
                 R"("size","modifiedAt"],"properties":{"path":)" STR R"(,"type":{"enum":)"
                 R"(["file","directory"]},"size":)" INT R"(,"modifiedAt":)" TIME R"(}}}}})"},
    {"FileUploaded", R"({"type":"object","required":["path","size"],"properties":{"path":)" STR
                     R"(,"size":)" INT R"(}})"},
    {"Usage", R"({"type":"object","required":["sessions","running","sessionSeconds",)"
              R"("cpuMilliSeconds","memoryMBSeconds"],"properties":{"sessions":)" INT
              R"(,"running":)" INT R"(,"sessionSeconds":{"type":"number"},)"
              R"("cpuMilliSeconds":{"type":"number"},"memoryMBSeconds":{"type":"number"}}})"},
    {"OpenApiDocument", R"({"type":"object","required":["openapi","info","paths"],)"
                        R"("description":"this document"})"},
};

#undef REF
#undef STR
#undef TIME
#undef INT
#undef BOOL

}  // namespace

std::span<const SchemaComponent> SchemaComponents() { return kSchemas; }

}  // namespace agentcore::server
