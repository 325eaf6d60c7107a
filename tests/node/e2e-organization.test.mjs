// The organization plugin through the official client's `organizationClient()`, the same
// assertions against better-auth-rs and against the real Better Auth (organization() plugin):
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e-organization.test.mjs
//   E2E_TARGET=reference node --test e2e-organization.test.mjs
//
// An owner creates organizations, invites (the mail goes to the outbox), the invitee accepts,
// roles change, permissions are checked, another organization's ids are refused, members
// leave and are removed. Against the Rust binary, a database the real Better Auth filled
// (organization, members, invitation) is then served and managed by the Rust binary.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { organizationClient } from "better-auth/client/plugins";
import {
  PASSWORD,
  here,
  newBrowser,
  readOutbox,
  startServer,
  stopAllServers,
  uniqueEmail,
} from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";
const dir = mkdtempSync(join(tmpdir(), "ba-e2e-org-"));
after(async () => {
  await stopAllServers();
  rmSync(dir, { recursive: true, force: true });
});

function rustConfig(teams) {
  const config = join(dir, teams ? "organization-teams.toml" : "organization.toml");
  const section = `[plugins.organization]\nenabled = true\n${teams ? "[plugins.organization.teams]\nenabled = true\n" : ""}`;
  writeFileSync(config, `${readFileSync(join(here, "e2e.toml"), "utf8")}\n${section}`);
  return config;
}

function start(target = TARGET, { teams = false, ...opts } = {}) {
  if (target === "reference") {
    const env = { ORGANIZATION: "1", ...(teams ? { ORGANIZATION_TEAMS: "1" } : {}) };
    return startServer({ target, ...opts, env });
  }
  return startServer({ target, ...opts, config: rustConfig(teams) });
}

const browser = (server) => newBrowser(server.base, { plugins: [organizationClient()] });

async function signUp(b, email, name = "User") {
  const res = await b.client.signUp.email({ email, password: PASSWORD, name });
  assert.equal(res.error, null, JSON.stringify(res.error));
  return res.data.user;
}

const ok = (res) => {
  assert.equal(res.error, null, JSON.stringify(res.error));
  return res.data;
};

const fails = (res, status, code) => {
  assert.ok(res.error, `expected ${status} ${code}, got ${JSON.stringify(res.data)}`);
  assert.equal(res.error.status, status, JSON.stringify(res.error));
  if (code !== undefined) assert.equal(res.error.code, code, JSON.stringify(res.error));
};

test(`the organization plugin through organizationClient (${TARGET})`, async () => {
  const server = await start(TARGET, { dir: mkdtempSync(join(dir, "main-")) });
  const db = new Database(join(server.dir, "auth.db"));
  try {
    const owner = browser(server);
    const ownerUser = await signUp(owner, uniqueEmail("owner"), "Olive");
    const invitee = browser(server);
    const inviteeEmail = uniqueEmail("invitee");
    const inviteeUser = await signUp(invitee, inviteeEmail, "Ivan");
    const outsider = browser(server);
    await signUp(outsider, uniqueEmail("outsider"), "Otto");

    // Create: the creator is the owner, and the new organization becomes active.
    const slug = `acme-${Date.now()}`;
    let org = ok(await owner.client.organization.create({ name: "Acme", slug, metadata: { plan: "pro" } }));
    assert.equal(org.slug, slug);
    assert.deepEqual(org.metadata, { plan: "pro" });
    assert.equal(org.members.length, 1);
    assert.equal(org.members[0].role, "owner");
    assert.equal(org.members[0].userId, ownerUser.id);
    let session = ok(await owner.client.getSession({ query: { disableCookieCache: true } }));
    assert.equal(session.session.activeOrganizationId, org.id);
    fails(await owner.client.organization.create({ name: "Again", slug }), 400, "ORGANIZATION_ALREADY_EXISTS");
    fails(await owner.client.organization.checkSlug({ slug }), 400, "ORGANIZATION_SLUG_ALREADY_TAKEN");
    assert.deepEqual(ok(await owner.client.organization.checkSlug({ slug: `${slug}-free` })), { status: true });

    const other = ok(
      await outsider.client.organization.create({ name: "Other", slug: `other-${Date.now()}` }),
    );
    const second = ok(
      await owner.client.organization.create({
        name: "Second",
        slug: `second-${Date.now()}`,
        keepCurrentActiveOrganization: true,
      }),
    );
    session = ok(await owner.client.getSession({ query: { disableCookieCache: true } }));
    assert.equal(session.session.activeOrganizationId, org.id, "kept the active organization");
    const listed = ok(await owner.client.organization.list());
    assert.deepEqual(listed.map((o) => o.id).sort(), [org.id, second.id].sort());

    // Update and read.
    org = ok(await owner.client.organization.update({ data: { name: "Acme Inc" } }));
    assert.equal(org.name, "Acme Inc");
    let full = ok(await owner.client.organization.getFullOrganization());
    assert.equal(full.name, "Acme Inc");
    assert.equal(full.members.length, 1);
    assert.equal(full.members[0].user.email, ownerUser.email);

    // Invite: the mail carries the invitation's id.
    const invitation = ok(await owner.client.organization.inviteMember({ email: inviteeEmail.toUpperCase(), role: "member" }));
    assert.equal(invitation.email, inviteeEmail);
    assert.equal(invitation.status, "pending");
    fails(
      await owner.client.organization.inviteMember({ email: inviteeEmail, role: "member" }),
      400,
      "USER_IS_ALREADY_INVITED_TO_THIS_ORGANIZATION",
    );
    const mail = readOutbox(server).findLast((m) => m.type === "organization-invitation");
    assert.equal(mail.email, inviteeEmail);
    assert.equal(mail.invitationId, invitation.id);
    assert.equal(mail.organizationId, org.id);
    assert.equal(mail.inviter, ownerUser.email);
    const invitations = ok(await owner.client.organization.listInvitations());
    assert.deepEqual(invitations.map((i) => i.id), [invitation.id]);

    // The invitee sees it (after verifying the email), reads and accepts it, once.
    fails(await invitee.client.organization.listUserInvitations(), 403, "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION");
    db.prepare(`UPDATE "user" SET "emailVerified" = 1 WHERE id = ?`).run(inviteeUser.id);
    const mine = ok(await invitee.client.organization.listUserInvitations());
    assert.deepEqual(mine.map((i) => [i.id, i.organizationName]), [[invitation.id, "Acme Inc"]]);
    fails(await outsider.client.organization.getInvitation({ query: { id: invitation.id } }), 403, "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION");
    fails(await outsider.client.organization.acceptInvitation({ invitationId: invitation.id }), 403, "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION");
    const read = ok(await invitee.client.organization.getInvitation({ query: { id: invitation.id } }));
    assert.equal(read.organizationName, "Acme Inc");
    assert.equal(read.organizationSlug, slug);
    assert.equal(read.inviterEmail, ownerUser.email);
    const accepted = ok(await invitee.client.organization.acceptInvitation({ invitationId: invitation.id }));
    assert.equal(accepted.invitation.status, "accepted");
    assert.equal(accepted.member.role, "member");
    assert.equal(accepted.member.organizationId, org.id);
    fails(await invitee.client.organization.acceptInvitation({ invitationId: invitation.id }), 400, "INVITATION_NOT_FOUND");
    session = ok(await invitee.client.getSession({ query: { disableCookieCache: true } }));
    assert.equal(session.session.activeOrganizationId, org.id);

    // Members and roles.
    const active = ok(await invitee.client.organization.getActiveMember());
    assert.equal(active.role, "member");
    assert.equal(active.user.email, inviteeEmail);
    assert.deepEqual(ok(await invitee.client.organization.getActiveMemberRole()), { role: "member" });
    const members = ok(await invitee.client.organization.listMembers());
    assert.equal(members.total, 2);
    assert.deepEqual(ok(await invitee.client.organization.hasPermission({ permissions: { member: ["delete"] } })), {
      error: null,
      success: false,
    });
    assert.deepEqual(ok(await owner.client.organization.hasPermission({ permissions: { organization: ["delete"] } })), {
      error: null,
      success: true,
    });
    fails(
      await invitee.client.organization.updateMemberRole({ memberId: active.id, role: "admin" }),
      403,
      "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER",
    );
    fails(
      await invitee.client.organization.inviteMember({ email: uniqueEmail("x"), role: "member" }),
      403,
      "YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION",
    );
    const promoted = ok(await owner.client.organization.updateMemberRole({ memberId: active.id, role: "admin" }));
    assert.equal(promoted.role, "admin");
    assert.deepEqual(ok(await invitee.client.organization.hasPermission({ permissions: { member: ["delete"] } })), {
      error: null,
      success: true,
    });
    fails(
      await invitee.client.organization.delete({ organizationId: org.id }),
      403,
      "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION",
    );
    fails(
      await owner.client.organization.updateMemberRole({ memberId: active.id, role: "boss" }),
      400,
      "ROLE_NOT_FOUND",
    );
    const ownerMember = full.members[0];
    fails(
      await owner.client.organization.updateMemberRole({ memberId: ownerMember.id, role: "admin" }),
      400,
      "YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER",
    );
    fails(
      await owner.client.organization.leave({ organizationId: org.id }),
      400,
      "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER",
    );

    // Another organization's ids are refused.
    fails(await owner.client.organization.getFullOrganization({ query: { organizationId: other.id } }), 403, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION");
    fails(await owner.client.organization.setActive({ organizationId: other.id }), 403, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION");
    fails(await owner.client.organization.update({ organizationId: other.id, data: { name: "Mine" } }), 400, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION");
    fails(await owner.client.organization.delete({ organizationId: other.id }), 400, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION");
    fails(await owner.client.organization.listMembers({ query: { organizationId: other.id } }), 403, "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION");
    const otherOwner = other.members[0];
    fails(
      await owner.client.organization.updateMemberRole({ memberId: otherOwner.id, role: "member", organizationId: org.id }),
      403,
      "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER",
    );
    fails(
      await invitee.client.organization.removeMember({ memberIdOrEmail: otherOwner.id }),
      400,
      "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER",
    );
    const otherInvite = ok(await outsider.client.organization.inviteMember({ email: uniqueEmail("y"), role: "member" }));
    fails(await owner.client.organization.cancelInvitation({ invitationId: otherInvite.id }), 400, "MEMBER_NOT_FOUND");

    // Set active, remove, leave, delete.
    const activated = ok(await owner.client.organization.setActive({ organizationId: second.id }));
    assert.equal(activated.id, second.id);
    assert.equal(ok(await owner.client.organization.setActive({ organizationId: null })), null);
    session = ok(await owner.client.getSession({ query: { disableCookieCache: true } }));
    assert.equal(session.session.activeOrganizationId, null);
    const left = ok(await invitee.client.organization.leave({ organizationId: org.id }));
    assert.equal(left.userId, inviteeUser.id);
    session = ok(await invitee.client.getSession({ query: { disableCookieCache: true } }));
    assert.equal(session.session.activeOrganizationId, null);
    const deleted = ok(await owner.client.organization.delete({ organizationId: org.id }));
    assert.equal(deleted.id, org.id);
    fails(await owner.client.organization.getFullOrganization({ query: { organizationId: org.id } }), 400, "ORGANIZATION_NOT_FOUND");
    assert.equal(db.prepare(`SELECT count(*) AS n FROM member WHERE "organizationId" = ?`).get(org.id).n, 0);

    const anonymous = browser(server);
    fails(await anonymous.client.organization.list(), 401);
  } finally {
    db.close();
    await server.stop();
  }
});

test("an organization made by the real Better Auth is managed by better-auth-rs", { skip: TARGET === "reference" }, async () => {
  const shared = mkdtempSync(join(dir, "shared-"));
  const ownerEmail = uniqueEmail("node-owner");
  const memberEmail = uniqueEmail("node-member");
  const slug = `node-org-${Date.now()}`;
  let orgId;
  let invitationId;
  const node = await start("reference", { dir: shared, logName: "reference" });
  try {
    const owner = browser(node);
    await signUp(owner, ownerEmail, "Nora");
    const member = browser(node);
    await signUp(member, memberEmail, "Max");
    const org = ok(await owner.client.organization.create({ name: "Node Org", slug, metadata: { from: "node" } }));
    orgId = org.id;
    const invitation = ok(await owner.client.organization.inviteMember({ email: memberEmail, role: "admin" }));
    invitationId = invitation.id;
  } finally {
    await node.stop();
  }
  const rust = await start("rust", { dir: shared, logName: "rust" });
  try {
    const owner = browser(rust);
    ok(await owner.client.signIn.email({ email: ownerEmail, password: PASSWORD }));
    const listed = ok(await owner.client.organization.list());
    assert.deepEqual(listed.map((o) => [o.id, o.slug, o.metadata]), [[orgId, slug, '{"from":"node"}']]);
    const full = ok(await owner.client.organization.getFullOrganization({ query: { organizationSlug: slug } }));
    assert.equal(full.members[0].role, "owner");
    assert.deepEqual(full.invitations.map((i) => i.id), [invitationId]);
    const member = browser(rust);
    ok(await member.client.signIn.email({ email: memberEmail, password: PASSWORD }));
    const accepted = ok(await member.client.organization.acceptInvitation({ invitationId }));
    assert.equal(accepted.member.role, "admin");
    const updated = ok(await member.client.organization.update({ organizationId: orgId, data: { name: "Renamed here" } }));
    assert.equal(updated.name, "Renamed here");
    const members = ok(await owner.client.organization.listMembers({ query: { organizationId: orgId } }));
    assert.equal(members.total, 2);
  } finally {
    await rust.stop();
  }
});

test(`teams through organizationClient (${TARGET})`, async () => {
  const server = await start(TARGET, { dir: mkdtempSync(join(dir, "teams-")), teams: true });
  try {
    const owner = browser(server);
    await signUp(owner, uniqueEmail("team-owner"), "Tess");
    const invitee = browser(server);
    const inviteeEmail = uniqueEmail("team-invitee");
    const inviteeUser = await signUp(invitee, inviteeEmail, "Tim");
    const outsider = browser(server);
    await signUp(outsider, uniqueEmail("team-outsider"), "Olga");

    // A new organization comes with a team of its name, its creator in it and active.
    const org = ok(await owner.client.organization.create({ name: "Teamed", slug: `teamed-${Date.now()}` }));
    let teams = ok(await owner.client.organization.listTeams());
    assert.deepEqual(teams.map((t) => t.name), ["Teamed"]);
    const defaultTeam = teams[0];
    assert.equal(defaultTeam.memberCount, undefined);
    let session = ok(await owner.client.getSession({ query: { disableCookieCache: true } }));
    assert.equal(session.session.activeTeamId, defaultTeam.id);

    const dev = ok(await owner.client.organization.createTeam({ name: "Dev" }));
    assert.equal(dev.organizationId, org.id);
    const renamed = ok(await owner.client.organization.updateTeam({ teamId: dev.id, data: { name: "Developers" } }));
    assert.equal(renamed.name, "Developers");

    // An invitation into a team puts the member in it and makes it active.
    fails(
      await owner.client.organization.inviteMember({ email: inviteeEmail, role: "member", teamId: "no-such-team" }),
      400,
      "TEAM_NOT_FOUND",
    );
    const invitation = ok(await owner.client.organization.inviteMember({ email: inviteeEmail, role: "member", teamId: dev.id }));
    assert.equal(invitation.teamId, dev.id);
    // Listed with each one's team: the team's id, null for an invitation into none.
    const plain = ok(await owner.client.organization.inviteMember({ email: uniqueEmail("team-plain"), role: "member" }));
    const listed = ok(await owner.client.organization.listInvitations());
    const listedTeam = (id) => JSON.stringify(listed.find((i) => i.id === id)?.teamId);
    assert.equal(listedTeam(invitation.id), JSON.stringify(dev.id));
    assert.equal(listedTeam(plain.id), "null");
    const accepted = ok(await invitee.client.organization.acceptInvitation({ invitationId: invitation.id }));
    assert.equal(accepted.invitation.teamId, dev.id);
    session = ok(await invitee.client.getSession({ query: { disableCookieCache: true } }));
    assert.equal(session.session.activeTeamId, dev.id);
    const members = ok(await invitee.client.organization.listTeamMembers());
    assert.deepEqual(members.map((m) => m.userId), [inviteeUser.id]);
    assert.deepEqual(ok(await invitee.client.organization.listUserTeams()).map((t) => t.id), [dev.id]);
    const full = ok(await owner.client.organization.getFullOrganization());
    assert.deepEqual(full.teams.map((t) => [t.name, t.memberCount]).sort(), [["Developers", 1], ["Teamed", 1]]);

    // Team members: added, listed, removed; a member may not add anyone.
    ok(await owner.client.organization.addTeamMember({ teamId: defaultTeam.id, userId: inviteeUser.id }));
    fails(
      await invitee.client.organization.addTeamMember({ teamId: dev.id, userId: inviteeUser.id }),
      403,
      "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_TEAM_MEMBER",
    );
    assert.deepEqual(ok(await owner.client.organization.removeTeamMember({ teamId: defaultTeam.id, userId: inviteeUser.id })), {
      message: "Team member removed successfully.",
    });
    fails(
      await owner.client.organization.removeTeamMember({ teamId: defaultTeam.id, userId: inviteeUser.id }),
      400,
      "USER_IS_NOT_A_MEMBER_OF_THE_TEAM",
    );

    // Another organization's team is not found here.
    const other = ok(await outsider.client.organization.create({ name: "Elsewhere", slug: `elsewhere-${Date.now()}` }));
    const [otherTeam] = ok(await outsider.client.organization.listTeams());
    fails(await owner.client.organization.updateTeam({ teamId: otherTeam.id, data: { name: "Mine" } }), 400, "TEAM_NOT_FOUND");
    fails(await owner.client.organization.removeTeam({ teamId: otherTeam.id }), 400, "TEAM_NOT_FOUND");
    fails(await owner.client.organization.setActiveTeam({ teamId: otherTeam.id }), 400, "TEAM_NOT_FOUND");
    fails(await owner.client.organization.listTeamMembers({ query: { teamId: otherTeam.id } }), 400, "USER_IS_NOT_A_MEMBER_OF_THE_TEAM");
    fails(await owner.client.organization.listTeams({ query: { organizationId: other.id } }), 403, "YOU_ARE_NOT_ALLOWED_TO_ACCESS_THIS_ORGANIZATION");

    // Active team, then removal; the last team stays.
    assert.equal(ok(await owner.client.organization.setActiveTeam({ teamId: null })), null);
    assert.deepEqual(ok(await owner.client.organization.removeTeam({ teamId: dev.id })), { message: "Team removed successfully." });
    fails(await owner.client.organization.removeTeam({ teamId: defaultTeam.id }), 400, "UNABLE_TO_REMOVE_LAST_TEAM");
    teams = ok(await owner.client.organization.listTeams());
    assert.deepEqual(teams.map((t) => t.id), [defaultTeam.id]);
  } finally {
    await server.stop();
  }
});
