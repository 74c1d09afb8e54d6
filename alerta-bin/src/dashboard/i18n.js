// Every string the page shows, one table per language. Spanish is the default; the choice
// is remembered in localStorage. Elements carry `data-i18n` (text), `data-i18n-placeholder`
// or `data-i18n-label` (aria-label) with a key of these tables.

const strings = {
  es: {
    "app.offline": "desconectado", "app.connecting": "conectando…", "app.reconnecting": "reconectando…",
    "app.online": "en vivo", "app.logout": "Salir", "app.language": "Idioma",
    "login.title": "Iniciar sesión", "login.email": "Correo", "login.password": "Contraseña",
    "login.submit": "Entrar", "login.toRegister": "¿No tienes cuenta? Regístrate",
    "register.title": "Crear cuenta de estudiante", "register.name": "Nombre",
    "register.submit": "Registrarme", "register.toLogin": "Ya tengo cuenta",
    "firstRun.title": "¿Primera vez?",
    "firstRun.students": "Los estudiantes crean su cuenta aquí mismo, con «Regístrate».",
    "firstRun.admin": "Si aún no hay ninguna cuenta de administración, créala en el servidor con:",
    "firstRun.env": "o arranca el servidor con las variables ALERTA_ADMIN_EMAIL y ALERTA_ADMIN_PASSWORD.",
    "report.title": "Reportar un incidente", "report.tipo": "Tipo", "report.descripcion": "Descripción",
    "report.ubicacion": "Ubicación", "report.urgencia": "Urgencia", "report.photo": "Foto (opcional)",
    "report.preview": "Vista previa", "report.send": "Enviar", "report.edit": "Corregir",
    "report.previewTitle": "Así se enviará", "report.sent": "Incidente enviado. Te avisaremos de cada cambio.",
    "report.photoTooBig": "La foto pesa demasiado (máximo {max} MB).",
    "report.photoType": "Solo se admiten imágenes PNG, JPEG, WebP o GIF.",
    "report.uploading": "Subiendo la foto…", "report.photoFailed": "El incidente se guardó, pero la foto no: {error}",
    "report.suggestions": "Quizá quisiste decir:",
    "mine.title": "Mis incidentes", "mine.empty": "Aún no has reportado nada.",
    "mine.resolved": "Tu incidente «{descripcion}» está resuelto.",
    "board.title": "Incidentes", "board.estado": "Estado", "board.tipo": "Tipo", "board.urgencia": "Urgencia",
    "board.departamento": "Departamento", "board.q": "Buscar", "board.any": "(todos)",
    "board.apply": "Filtrar", "board.next": "Siguientes", "board.first": "Primera página",
    "board.empty": "Ningún incidente con estos filtros.", "board.when": "Creado", "board.open": "Abrir",
    "board.new": "Nuevo incidente: {descripcion}",
    "incident.back": "Volver a la lista", "incident.history": "Historial", "incident.attachments": "Adjuntos",
    "incident.noAttachments": "Sin adjuntos.", "incident.status": "Cambiar estado", "incident.note": "Nota (opcional)",
    "incident.saveStatus": "Guardar estado", "incident.comment": "Comentario interno", "incident.addComment": "Comentar",
    "incident.assign": "Asignar departamento", "incident.saveAssign": "Asignar",
    "incident.stale": "Otra persona cambió este incidente mientras lo mirabas. Se ha recargado: revisa su estado y vuelve a intentarlo.",
    "incident.changed": "Este incidente acaba de cambiar.", "incident.reload": "Recargar",
    "incident.saved": "Guardado.", "incident.download": "Descargar",
    "alerts.title": "Alertas en vivo", "alerts.time": "Hora", "alerts.severity": "Severidad",
    "alerts.source": "Origen", "alerts.channel": "Canal", "alerts.message": "Mensaje",
    "event.creado": "Reportado", "event.cambio_estado": "Estado: {de} → {a}", "event.comentario": "Comentario: {texto}",
    "event.asignacion": "Asignado a {departamento}", "event.adjunto": "Adjunto: {filename}",
    "estado.pendiente": "pendiente", "estado.en_proceso": "en proceso", "estado.resuelto": "resuelto",
    "urgencia.baja": "baja", "urgencia.media": "media", "urgencia.alta": "alta", "urgencia.critica": "crítica",
    "tipo.infraestructura": "infraestructura", "tipo.seguridad": "seguridad", "tipo.limpieza": "limpieza",
    "tipo.tecnologia": "tecnología", "tipo.salud": "salud", "tipo.otro": "otro",
    "error.network": "No hay conexión con el servidor.",
    "chart.title": "Incidentes reportados por día (últimos 30 días), por estado actual",
    "login.disabled": "Esta cuenta está desactivada. Pide a la administración que la active.",
    "firstRun.noAdmin": "Todavía no hay ninguna cuenta de administración en este servidor.",
    "nav.label": "Secciones", "nav.main": "Incidentes", "nav.admin": "Administración", "nav.account": "Mi cuenta",
    "rol.student": "estudiante", "rol.staff": "personal", "rol.admin": "administración",
    "users.title": "Usuarios", "users.q": "Nombre o correo", "users.rol": "Rol", "users.nombre": "Nombre",
    "users.email": "Correo", "users.access": "Acceso", "users.active": "activa", "users.disabled": "desactivada",
    "users.empty": "Ninguna cuenta con estos filtros.", "users.saveRole": "Cambiar rol",
    "users.roleOf": "Rol de {nombre}", "users.saveRoleOf": "Cambiar el rol de {nombre}",
    "users.disable": "Desactivar", "users.enable": "Activar",
    "users.disableOf": "Desactivar la cuenta de {nombre}", "users.enableOf": "Activar la cuenta de {nombre}",
    "users.roleChanged": "{nombre} ahora tiene el rol {rol}.", "users.wasDisabled": "La cuenta de {nombre} está desactivada y sus sesiones se cerraron.",
    "users.wasEnabled": "La cuenta de {nombre} vuelve a estar activa.",
    "users.lastAdmin": "No se puede: es la última cuenta de administración activa.",
    "users.create": "Crear una cuenta", "users.password": "Contraseña inicial", "users.createSubmit": "Crear cuenta",
    "users.created": "Cuenta de {nombre} creada.", "admin.duplicate": "Ya existe con ese nombre o correo.",
    "departments.title": "Departamentos", "departments.nombre": "Nombre", "departments.email": "Correo de contacto",
    "departments.save": "Guardar", "departments.saveOf": "Guardar el correo de {nombre}",
    "departments.saved": "Correo de {nombre} guardado.", "departments.create": "Nuevo departamento",
    "departments.createSubmit": "Crear departamento", "departments.created": "Departamento {nombre} creado.",
    "departments.empty": "Aún no hay departamentos.",
    "account.title": "Cambiar la contraseña", "account.current": "Contraseña actual", "account.new": "Contraseña nueva",
    "account.repeat": "Repite la contraseña nueva", "account.submit": "Cambiar contraseña",
    "account.hint": "Entre 8 y 128 caracteres. Tus otras sesiones se cerrarán.",
    "account.changed": "Contraseña cambiada. Tus otras sesiones se han cerrado.",
    "account.wrongCurrent": "La contraseña actual no es correcta.", "account.mismatch": "Las dos contraseñas nuevas no coinciden.",
    "account.locked": "Demasiados intentos fallidos; espera un poco y vuelve a probar.",
    "chart.resolution": "Tiempo de resolución por departamento (incidentes de los últimos 30 días)",
    "chart.mean": "media", "chart.p90": "percentil 90", "chart.resolved": "{n} resueltos", "chart.noResolution": "Aún no hay incidentes resueltos con departamento.",
    "chart.alerts": "Alertas por hora (últimas 24 horas), por severidad",
    "severity.info": "info", "severity.warning": "aviso", "severity.error": "error", "severity.critical": "crítica",
  },
  en: {
    "app.offline": "offline", "app.connecting": "connecting…", "app.reconnecting": "reconnecting…",
    "app.online": "live", "app.logout": "Log out", "app.language": "Language",
    "login.title": "Log in", "login.email": "Email", "login.password": "Password",
    "login.submit": "Log in", "login.toRegister": "No account? Register",
    "register.title": "Create a student account", "register.name": "Name",
    "register.submit": "Register", "register.toLogin": "I have an account",
    "firstRun.title": "First time here?",
    "firstRun.students": "Students create their account right here, with “Register”.",
    "firstRun.admin": "If there is no admin account yet, create one on the server with:",
    "firstRun.env": "or start the server with ALERTA_ADMIN_EMAIL and ALERTA_ADMIN_PASSWORD set.",
    "report.title": "Report an incident", "report.tipo": "Type", "report.descripcion": "Description",
    "report.ubicacion": "Location", "report.urgencia": "Urgency", "report.photo": "Photo (optional)",
    "report.preview": "Preview", "report.send": "Send", "report.edit": "Edit",
    "report.previewTitle": "This is what will be sent", "report.sent": "Incident sent. You will see every change here.",
    "report.photoTooBig": "The photo is too large (at most {max} MB).",
    "report.photoType": "Only PNG, JPEG, WebP or GIF images are accepted.",
    "report.uploading": "Uploading the photo…", "report.photoFailed": "The incident was saved but the photo was not: {error}",
    "report.suggestions": "Did you mean:",
    "mine.title": "My incidents", "mine.empty": "You have not reported anything yet.",
    "mine.resolved": "Your incident “{descripcion}” is resolved.",
    "board.title": "Incidents", "board.estado": "Status", "board.tipo": "Type", "board.urgencia": "Urgency",
    "board.departamento": "Department", "board.q": "Search", "board.any": "(any)",
    "board.apply": "Filter", "board.next": "Next", "board.first": "First page",
    "board.empty": "No incident matches these filters.", "board.when": "Created", "board.open": "Open",
    "board.new": "New incident: {descripcion}",
    "incident.back": "Back to the list", "incident.history": "History", "incident.attachments": "Attachments",
    "incident.noAttachments": "No attachments.", "incident.status": "Change status", "incident.note": "Note (optional)",
    "incident.saveStatus": "Save status", "incident.comment": "Internal comment", "incident.addComment": "Comment",
    "incident.assign": "Assign a department", "incident.saveAssign": "Assign",
    "incident.stale": "Someone else changed this incident while you were looking at it. It has been reloaded: check its status and try again.",
    "incident.changed": "This incident has just changed.", "incident.reload": "Reload",
    "incident.saved": "Saved.", "incident.download": "Download",
    "alerts.title": "Live alerts", "alerts.time": "Time", "alerts.severity": "Severity",
    "alerts.source": "Source", "alerts.channel": "Channel", "alerts.message": "Message",
    "event.creado": "Reported", "event.cambio_estado": "Status: {de} → {a}", "event.comentario": "Comment: {texto}",
    "event.asignacion": "Assigned to {departamento}", "event.adjunto": "Attachment: {filename}",
    "estado.pendiente": "pending", "estado.en_proceso": "in progress", "estado.resuelto": "resolved",
    "urgencia.baja": "low", "urgencia.media": "medium", "urgencia.alta": "high", "urgencia.critica": "critical",
    "tipo.infraestructura": "infrastructure", "tipo.seguridad": "security", "tipo.limpieza": "cleaning",
    "tipo.tecnologia": "technology", "tipo.salud": "health", "tipo.otro": "other",
    "error.network": "The server cannot be reached.",
    "chart.title": "Incidents reported per day (last 30 days), by current status",
    "login.disabled": "This account is disabled. Ask an admin to enable it.",
    "firstRun.noAdmin": "This server has no admin account yet.",
    "nav.label": "Sections", "nav.main": "Incidents", "nav.admin": "Administration", "nav.account": "My account",
    "rol.student": "student", "rol.staff": "staff", "rol.admin": "admin",
    "users.title": "Users", "users.q": "Name or email", "users.rol": "Role", "users.nombre": "Name",
    "users.email": "Email", "users.access": "Access", "users.active": "active", "users.disabled": "disabled",
    "users.empty": "No account matches these filters.", "users.saveRole": "Change role",
    "users.roleOf": "Role of {nombre}", "users.saveRoleOf": "Change the role of {nombre}",
    "users.disable": "Disable", "users.enable": "Enable",
    "users.disableOf": "Disable the account of {nombre}", "users.enableOf": "Enable the account of {nombre}",
    "users.roleChanged": "{nombre} now has the role {rol}.", "users.wasDisabled": "The account of {nombre} is disabled and its sessions ended.",
    "users.wasEnabled": "The account of {nombre} is active again.",
    "users.lastAdmin": "Not possible: this is the last active admin account.",
    "users.create": "Create an account", "users.password": "Initial password", "users.createSubmit": "Create account",
    "users.created": "Account of {nombre} created.", "admin.duplicate": "One with that name or email exists already.",
    "departments.title": "Departments", "departments.nombre": "Name", "departments.email": "Contact email",
    "departments.save": "Save", "departments.saveOf": "Save the email of {nombre}",
    "departments.saved": "Email of {nombre} saved.", "departments.create": "New department",
    "departments.createSubmit": "Create department", "departments.created": "Department {nombre} created.",
    "departments.empty": "No departments yet.",
    "account.title": "Change your password", "account.current": "Current password", "account.new": "New password",
    "account.repeat": "Repeat the new password", "account.submit": "Change password",
    "account.hint": "8 to 128 characters. Your other sessions will end.",
    "account.changed": "Password changed. Your other sessions have ended.",
    "account.wrongCurrent": "The current password is not right.", "account.mismatch": "The two new passwords differ.",
    "account.locked": "Too many failed attempts; wait a little and try again.",
    "chart.resolution": "Resolution time by department (incidents of the last 30 days)",
    "chart.mean": "mean", "chart.p90": "90th percentile", "chart.resolved": "{n} resolved", "chart.noResolution": "No resolved incident with a department yet.",
    "chart.alerts": "Alerts per hour (last 24 hours), by severity",
    "severity.info": "info", "severity.warning": "warning", "severity.error": "error", "severity.critical": "critical",
  },
};

let language = strings[localStorage.getItem("alerta.lang")] ? localStorage.getItem("alerta.lang") : "es";
const listeners = [];

/** The string for `key` in the current language, with `{name}` filled from `values`. */
export function t(key, values = {}) {
  const text = strings[language][key] ?? strings.es[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

/** A wire value (estado, urgencia, tipo) in words; unknown values are shown as they are. */
export function word(kind, value) {
  const key = `${kind}.${value}`;
  return key in strings.es ? t(key) : String(value ?? "");
}

export function currentLanguage() { return language; }

/** Switches the language, relabels the page and tells the views to draw again. */
export function setLanguage(next) {
  if (!strings[next]) return;
  language = next;
  localStorage.setItem("alerta.lang", next);
  translate(document);
  for (const listener of listeners) listener();
}

export function onLanguageChange(listener) { listeners.push(listener); }

/** Labels every element under `root` that names a string key. */
export function translate(root) {
  document.documentElement.lang = language;
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of root.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", t(node.dataset.i18nLabel));
}
